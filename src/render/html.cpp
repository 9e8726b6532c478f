// The HTML walkthrough (html.hpp): one self-contained page, laid out from walkthrough.hpp's model
// as the text walkthrough is, so that it says the same things.
//
//   <head>      the stylesheet and the script inline; a Content-Security-Policy that lets nothing
//               load and only that script run
//   controls    back and next, the stage list, one stage or all, the focus selectors
//   <header>    the input, its sizes, scale, weights, masks and focus; its notes and warnings
//   <section data-stage="ID">   each stage: title, formula, shapes, note, tables (html_tables.cpp)
//   closing     stages asked for that the trace lacks; the summary
//   data        each cell's explanation as attn-trace explain prints it, as JSON
//
// The tables are plain HTML, so the page reads and prints without its script; the script adds the
// one-stage view, the keys, the selectors and the explanations (html/page.js).
#include "attn_trace/render/html.hpp"

#include <sstream>

#include <fmt/format.h>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/render/explanation.hpp"
#include "html_assets.hpp"
#include "html_escape.hpp"
#include "html_writer.hpp"

namespace attn_trace {
namespace html {
namespace {

using namespace walkthrough;

// Whether the page holds its cells' explanations, and if not, why.
enum class Explained { included, left_out, unavailable };

std::string stage_anchor(StageId id) {
  return fmt::format("stage-{}", stage_name(id));
}

// Why the page holds no explanations although it could: too many numbers. Says how to get them.
std::string left_out_note(std::size_t numbers, std::size_t limit) {
  return fmt::format(
      "The arithmetic behind each number is left out of this page: its tables show {} numbers, "
      "more than the {} whose explanations keep a page small and quick to open (each adds its "
      "arithmetic, a few hundred bytes, to the file). To see it, make a smaller page with --focus "
      "(one head, one query) or --stages, or run attn-trace explain CELL on the same input, where "
      "CELL is the number's name, shown when you click it.",
      numbers, limit);
}

class Page {
 public:
  Page(const Trace& trace, const TextOptions& options, const HtmlOptions& html, std::ostream& out)
      : trace_(trace),
        options_(options),
        html_(html),
        contents_(contents_of(trace, options)),
        explained_(!html.explain                                    ? Explained::unavailable
                   : contents_.numbers > html.explained_cells_limit ? Explained::left_out
                                                                    : Explained::included),
        w_(trace, options, out, explained_ == Explained::included) {}

  void write() {
    const std::vector<ShownStage> stages = shown_stages(trace_, options_.stages);
    write_head();
    write_controls(stages);
    if (options_.header) write_header();
    if (explained_ == Explained::left_out) {
      w_.element("p", " class=\"notice\" data-notice=\"explanations\"",
                 left_out_note(contents_.numbers, html_.explained_cells_limit));
    }
    w_.raw("<main>\n");
    for (const ShownStage& shown : stages) write_stage(shown);
    write_closing();
    w_.raw("</main>\n");
    write_explanations();
    w_.raw(fmt::format("<script>{}</script>\n</body>\n</html>\n", html_assets::page_js()));
  }

 private:
  static constexpr std::string_view explained_names[] = {"included", "left-out", "none"};

  void write_head() {
    // Nothing may load (default-src 'none'), and only the page's own script may run: not one
    // injected into the page, nor an inline handler, should escaping ever fail.
    w_.raw(fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'sha256-{}'; base-uri 'none'; form-action "
        "'none'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"color-scheme\" content=\"light dark\">\n"
        "<meta name=\"generator\" content=\"attn-trace\">\n",
        html_assets::page_js_sha256()));
    w_.element("title", "", header_of(trace_, options_.full).title);
    w_.raw(fmt::format("<style>{}</style>\n</head>\n", html_assets::page_css()));
    w_.raw(fmt::format("<body data-view=\"all\" data-explanations=\"{}\">\n",
                       explained_names[static_cast<int>(explained_)]));
  }

  // The bar that stays at the top: the controls the script turns on (hidden without it): back,
  // where we are, next, the view, the focus selectors; and the stage list, whose links also work
  // without the script.
  void write_controls(const std::vector<ShownStage>& stages) {
    w_.raw(
        "<div class=\"bar\">\n<nav class=\"controls\" aria-label=\"Walkthrough\" hidden>\n"
        "<div class=\"stepper\">"
        "<button type=\"button\" data-action=\"back\" title=\"Back (← or Backspace)\">←</button>"
        "<span class=\"position\" aria-live=\"polite\"></span>"
        "<button type=\"button\" data-action=\"next\" title=\"Next (→, Space or Enter)\">→</button>"
        "<button type=\"button\" data-action=\"view\"></button></div>\n");
    if (contents_.batches.size() > 1) write_selector("batch", "all batches", contents_.batches);
    if (contents_.heads.size() > 1) write_selector("head", "all heads", contents_.heads);
    if (contents_.queries.size() > 1) {
      w_.raw("<label>query <select data-focus=\"query\"><option value=\"\">all queries</option>");
      for (const auto& [i, labels] : contents_.queries) {
        w_.raw(fmt::format("<option value=\"{}\">{} · {}</option>", i, i,
                           escape(fmt::format("{}", fmt::join(labels, " / ")))));
      }
      w_.raw("</select></label>\n");
    }
    w_.raw("<span class=\"hint\">click a number for its arithmetic</span>\n</nav>\n");
    w_.raw("<nav class=\"stage-list\" aria-label=\"Stages\"><ol>\n");
    for (const ShownStage& shown : stages) {
      const std::string_view id = stage_name(shown.stage->id);
      w_.raw(fmt::format("<li><a href=\"#{}\" data-goto=\"{}\">{} {}</a></li>\n",
                         stage_anchor(shown.stage->id), id, shown.number, id));
    }
    w_.raw("</ol></nav>\n</div>\n");
  }

  void write_selector(std::string_view axis, std::string_view all,
                      const std::set<std::size_t>& values) {
    w_.raw(fmt::format("<label>{} <select data-focus=\"{}\"><option value=\"\">{}</option>", axis,
                       axis, all));
    for (std::size_t v : values) w_.raw(fmt::format("<option value=\"{}\">{}</option>", v, v));
    w_.raw("</select></label>\n");
  }

  void write_header() {
    const Header h = header_of(trace_, options_.full);
    w_.raw("<header class=\"trace-header\">\n");
    w_.element("h1", "", h.title);
    if (!h.description.empty()) w_.element("p", " class=\"description\"", h.description);
    if (!h.source.empty()) {
      w_.raw("<p class=\"source\"><span class=\"label\">source:</span> " + escape(h.source) +
             "</p>\n");
    }
    w_.raw("<dl class=\"fields\">\n");
    for (const HeaderField& field : h.fields) {
      w_.raw(fmt::format("<div data-field=\"{}\"><dt>{}</dt><dd>{}</dd></div>\n",
                         escape(field.name), escape(field.name), escape(field.value)));
    }
    w_.raw("</dl>\n");
    for (const std::string& note : h.notes) {
      w_.raw("<p class=\"note\"><span class=\"label\">note:</span> " + escape(note) + "</p>\n");
    }
    for (const std::string& warning : h.warnings) {
      w_.raw("<p class=\"warning\" role=\"alert\"><span class=\"label\">warning:</span> " +
             escape(warning) + "</p>\n");
    }
    w_.raw("</header>\n");
  }

  // One stage: "N/T · id · Title", what it does (--explain), its formula, shapes and note, then
  // each tensor, or why it is left out, each followed by how it compares with published values.
  void write_stage(const ShownStage& shown) {
    const Stage& stage = *shown.stage;
    const std::string_view id = stage_name(stage.id);
    w_.raw(
        fmt::format("<section class=\"stage\" id=\"{}\" data-stage=\"{}\" data-number=\"{}\" "
                    "data-total=\"{}\">\n<h2><span class=\"stage-number\">{}/{}</span> · <span "
                    "class=\"stage-id\">{}</span> · {}</h2>\n",
                    stage_anchor(stage.id), id, shown.number, shown.total, shown.number,
                    shown.total, id, escape(stage.title)));
    if (options_.explain) {
      const StageInfo& info = stage_info(stage.id);
      w_.element("p", " class=\"stage-explain\"", fmt::format("{} {}", info.what, info.why));
      w_.raw("<p class=\"stage-explain\"><span class=\"label\">Shape rule:</span> " +
             escape(info.shape) + "</p>\n");
    }
    w_.element("p", " class=\"formula\"", stage.formula);
    w_.raw("<p class=\"shapes\"><span class=\"label\">shapes:</span> " + escape(stage.shapes) +
           "</p>\n");
    if (!stage.note.empty()) w_.element("p", " class=\"stage-note\"", stage.note);
    if (stage.id == StageId::masking) w_.element("p", " class=\"stage-note\"", blocked_cell_note);
    for (const Tensor& tensor : stage.tensors) {
      if (const auto why = left_out(stage, tensor, options_.weighted_limit)) {
        w_.raw(fmt::format(
            "<p class=\"left-out\" data-tensor=\"{}\"><span class=\"tensor-name\">{}</span> {}: "
            "{}</p>\n",
            escape(tensor.name), escape(tensor.name), escape(dims_text(tensor.shape)),
            escape(*why)));
        continue;
      }
      const std::optional<Heat> heat = heat_of(trace_, stage, tensor);
      w_.write_tensor(stage, tensor, whole_numbers(stage, tensor), heat ? &*heat : nullptr);
      for (const PublishedCheck* check : published_checks(trace_, stage, tensor)) {
        write_published(*check);
      }
    }
    w_.raw("</section>\n");
  }

  // "✓ weights matches the published values (to 4 decimals)", or what differs, and why.
  void write_published(const PublishedCheck& check) {
    const PublishedLines lines = published_lines(check, options_.precision);
    w_.raw(fmt::format("<div class=\"published {}\">\n", lines.matches ? "matches" : "differs"));
    w_.element("p", "", lines.headline);
    if (!lines.items.empty()) {
      w_.raw("<ul>\n");
      for (const std::string& item : lines.items) w_.element("li", "", item);
      w_.raw("</ul>\n");
    }
    if (!lines.why.empty()) {
      w_.raw("<p><span class=\"label\">why:</span> " + escape(lines.why) + "</p>\n");
    }
    w_.raw("</div>\n");
  }

  // What follows the last stage: a note for each stage asked for that the trace lacks, and the
  // summary when the walk reaches the end.
  void write_closing() {
    const std::vector<std::string> notes = absent_stage_notes(trace_, options_.stages);
    const bool summary = shows_summary(trace_, options_.stages);
    if (notes.empty() && !summary) return;
    w_.raw("<section class=\"closing\">\n");
    for (const std::string& note : notes) {
      w_.element("p", " class=\"absent-note\"", "(" + note + ")");
    }
    if (summary) write_summary();
    w_.raw("</section>\n");
  }

  void write_summary() {
    const std::optional<Summary> summary = summary_of(trace_, options_.full);
    if (!summary) return;
    w_.raw("<div class=\"summary\">\n<h2>summary</h2>\n");
    w_.element("p", "",
               fmt::format("The result, {} of the {} stage:", summary->result->name,
                           stage_name(summary->last->id)));
    w_.write_tensor(*summary->last, *summary->result, false, nullptr);
    w_.element("h3", "", "Each query token attends most to:");
    // The lines' query positions: the first ones, then (after a gap) the last ones.
    const std::size_t queries = trace_.find_stage(StageId::softmax)->tensors.front().rows();
    const bool several_heads = trace_.config.num_heads > 1;
    for (std::size_t b = 0; b < summary->groups.size(); ++b) {
      const SummaryGroup& group = summary->groups[b];
      w_.raw(fmt::format("<div class=\"attends\" data-batch=\"{}\">\n",
                         trace_.whole_index(Axis::batch, b)));
      if (!group.batch.empty()) w_.element("h4", "", group.batch);
      w_.raw("<ul>\n");
      const std::size_t n = group.lines.size();
      bool after_gap = false;
      for (std::size_t k = 0; k < n; ++k) {
        const SummaryLine& line = group.lines[k];
        if (line.gap) {
          w_.raw("<li class=\"gap\" data-gap=\"rows\">⋮</li>\n");
          after_gap = true;
          continue;
        }
        const std::size_t i = after_gap ? queries - (n - k) : k;
        w_.raw(fmt::format("<li data-query=\"{}\"><span class=\"query\">{}</span> → ",
                           trace_.whole_index(Axis::query, i), escape(line.query)));
        for (std::size_t h = 0; h < line.picks.size(); ++h) {
          if (h > 0) w_.raw("<span class=\"sep\"> · </span>");  // cut with a head chosen
          const std::string head =
              several_heads ? fmt::format(" data-head=\"{}\"", trace_.whole_index(Axis::head, h))
                            : std::string();
          w_.raw(fmt::format("<span class=\"pick\"{}>{}</span>", head, escape(line.picks[h])));
        }
        w_.raw("</li>\n");
      }
      w_.raw("</ul>\n</div>\n");
    }
    w_.raw("</div>\n");
  }

  // Each cell written, explained as `attn-trace explain CELL` prints it, as one JSON object from
  // the cell's name to its text, which the script shows when the cell is clicked.
  void write_explanations() {
    if (explained_ != Explained::included) return;
    w_.raw("<script type=\"application/json\" id=\"attn-trace-explanations\">{");
    bool first = true;
    for (const ShownCell& cell : w_.cells()) {
      const std::optional<Explanation> explanation =
          html_.explain(cell.stage, cell.tensor, cell.index);
      if (!explanation) continue;
      std::ostringstream text;
      render_explanation_text(*explanation, options_.precision, text);
      w_.raw(fmt::format("{}\n{}:{}", first ? "" : ",", json_string(cell.name),
                         json_string(text.str())));
      first = false;
    }
    w_.raw("\n}</script>\n");
  }

  const Trace& trace_;
  const TextOptions& options_;
  const HtmlOptions& html_;
  const PageContents contents_;
  const Explained explained_;
  PageWriter w_;
};

}  // namespace
}  // namespace html

void render_html(const Trace& trace, const TextOptions& options, const HtmlOptions& html,
                 std::ostream& out) {
  html::Page(trace, options, html, out).write();
}

}  // namespace attn_trace
