// The Markdown walkthrough (markdown.hpp): walkthrough.hpp's parts in GitHub-flavoured Markdown.
//
//   # attn-trace · I am good            the header: a list of its fields, notes as quotes
//   ## 4/8 · `scores` · Attention …     each stage: its formula as $…$, its shape algebra
//   | | I | am | good |                 each 2-D block a pipe table, tokens on both sides
//   ## Summary                          the result once more, and whom each query attends to
#include "attn_trace/render/markdown.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/text.hpp"
#include "tex_math.hpp"
#include "walkthrough.hpp"

namespace attn_trace {
namespace {

using namespace walkthrough;

// Text as Markdown shows it, never as markup: every character that can start markup is backslash-
// escaped (CommonMark allows it for any ASCII punctuation), so a token's `|` cannot end a table
// cell, a backtick cannot open code, `$` cannot open math and `<script>` is text. A line break
// would end a table row: it becomes a space.
std::string md(std::string_view text) {
  constexpr std::string_view markup = "\\`*_{}[]<>|#~$&!^";
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (markup.find(c) != std::string_view::npos) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

// TeX for $…$ in Markdown: "}_{" is read as the start of emphasis by GitHub's parser (and by
// CommonMark's), which runs before the math is typeset; "_ {" cannot open emphasis, and TeX
// ignores the space.
std::string markdown_math(std::string tex) {
  for (std::size_t at = tex.find("_{"); at != std::string::npos; at = tex.find("_{", at + 3)) {
    tex.insert(at + 1, " ");
  }
  return tex;
}

// A paragraph of text a user wrote: md(), and what would start a block at its beginning — a list
// ("1.", "2)", "-", "+"), a rule or a heading underline ("---", "==="), or indentation (code) —
// escaped or dropped, so that it reads as written.
std::string md_paragraph(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  std::string out = md(text);
  std::size_t digits = 0;
  while (digits < out.size() && out[digits] >= '0' && out[digits] <= '9') ++digits;
  if (digits > 0 && digits < out.size() && (out[digits] == '.' || out[digits] == ')')) {
    out.insert(digits, "\\");
  } else if (!out.empty() && (out.front() == '-' || out.front() == '+' || out.front() == '=')) {
    out.insert(0, "\\");
  }
  return out;
}

// A row or column label in bold; an empty one (a token of nothing, or of spaces) as nothing, which
// "****" would not be.
std::string bold_label(const std::string& label) {
  const bool blank = label.find_first_not_of(' ') == std::string::npos;
  return blank ? std::string() : "**" + md(label) + "**";
}

class MarkdownWriter {
 public:
  MarkdownWriter(const Trace& trace, const TextOptions& options, std::ostream& out)
      : trace_(trace), options_(options), out_(out) {}

  void write() {
    if (options_.header) write_header();
    for (const ShownStage& shown : shown_stages(trace_, options_.stages)) write_stage(shown);
    for (const std::string& note : absent_stage_notes(trace_, options_.stages)) {
      paragraph("*" + md("(" + note + ")") + "*");
    }
    if (shows_summary(trace_, options_.stages)) write_summary();
  }

 private:
  // A block of Markdown and the blank line that ends it.
  void paragraph(std::string_view text) { fmt::print(out_, "{}\n\n", text); }

  void write_header() {
    const Header h = header_of(trace_, options_.full);
    paragraph("# " + md(h.title));
    if (!h.description.empty()) paragraph(md_paragraph(h.description));
    if (!h.source.empty()) paragraph("Source: " + md(h.source));
    std::string fields;
    for (const HeaderField& field : h.fields) {
      fields += fmt::format("- **{}**: {}\n", field.name, md(field.value));
    }
    paragraph(fields.substr(0, fields.size() - 1));
    for (const std::string& note : h.notes) paragraph("> **Note:** " + md(note));
    for (const std::string& warning : h.warnings) paragraph("> **Warning:** " + md(warning));
  }

  void write_stage(const ShownStage& shown) {
    const Stage& stage = *shown.stage;
    paragraph(fmt::format("## {}/{} · `{}` · {}", shown.number, shown.total, stage_name(stage.id),
                          md(stage.title)));
    if (options_.explain) {
      const StageInfo& info = stage_info(stage.id);
      paragraph(md(fmt::format("{} {}", info.what, info.why)));
      paragraph("*Shape rule:* " + md(info.shape));
    }
    paragraph("$" + markdown_math(formula_tex(stage.formula)) + "$");
    paragraph("**Shapes:** " + md(stage.shapes));
    if (!stage.note.empty()) paragraph(md(stage.note));
    if (stage.id == StageId::masking) paragraph(md(blocked_cell_note));
    for (const Tensor& tensor : stage.tensors) {
      if (const auto why = left_out(stage, tensor, options_.weighted_limit)) {
        paragraph(
            fmt::format("**{}** {}: {}", md(tensor.name), md(dims_text(tensor.shape)), md(*why)));
        continue;
      }
      write_tensor(tensor, whole_numbers(stage, tensor));
      for (const PublishedCheck* check : published_checks(trace_, stage, tensor)) {
        const PublishedLines lines = published_lines(*check, options_.precision);
        std::string text = md(lines.headline);
        for (const std::string& item : lines.items) text += "\n- " + md(item);
        paragraph(text);
        if (!lines.why.empty()) paragraph("Why: " + md(lines.why));
      }
    }
  }

  // The tensor's heading, then one pipe table per 2-D block shown, under the block's title.
  void write_tensor(const Tensor& t, bool whole) {
    const TableLayout layout = table_layout(trace_, t, options_.full);
    const std::size_t space = layout.heading.find(' ');
    paragraph("**" + md(layout.heading.substr(0, space)) + "**" + md(layout.heading.substr(space)));
    if (layout.summarised) paragraph("*" + md(layout.summary_note) + "*");
    for (const TableBlock& block : layout.blocks) {
      if (!block.gap.empty()) {
        paragraph(md(block.gap));
        continue;
      }
      if (!block.title.empty()) paragraph("*" + md(block.title) + "*");
      write_table(t, layout, block, whole);
    }
  }

  void write_table(const Tensor& t, const TableLayout& layout, const TableBlock& block,
                   bool whole) {
    const BlockValues values(t, block.block);
    // The header row: the column labels, after the corner over the row labels.
    std::string text = layout.row_labels ? "| " : "|";
    std::string rule = layout.row_labels ? "|---" : "";
    for (std::size_t c : layout.cols) {
      text += fmt::format("| {} ",
                          c == gap ? "…" : md(axis_label(trace_, layout.col_axis, c, block.batch)));
      rule += "|--:";
    }
    text += "|\n" + rule + "|\n";
    for (std::size_t r : layout.rows) {
      if (layout.row_labels) {
        text += fmt::format(
            "| {} ",
            r == gap ? "⋮" : bold_label(axis_label(trace_, layout.row_axis, r, block.batch)));
      }
      for (std::size_t c : layout.cols) {
        std::string cell = "…";
        if (r == gap) {
          cell = c == gap ? "⋱" : "⋮";
        } else if (c != gap) {
          cell = cell_text(t, values(static_cast<Index>(r), static_cast<Index>(c)),
                           options_.precision, whole);
        }
        text += "| " + cell + " ";
      }
      text += "|\n";
    }
    paragraph(text.substr(0, text.size() - 1));
  }

  void write_summary() {
    const std::optional<Summary> summary = summary_of(trace_, options_.full);
    if (!summary) return;
    paragraph("## Summary");
    paragraph(fmt::format("The result, **{}** of the `{}` stage:", md(summary->result->name),
                          stage_name(summary->last->id)));
    write_tensor(*summary->result, false);
    paragraph("Each query token attends most to:");
    for (const SummaryGroup& group : summary->groups) {
      if (!group.batch.empty()) paragraph("*" + md(group.batch) + "*");
      std::string list;
      for (const SummaryLine& line : group.lines) {
        list += line.gap ? std::string("- ⋮\n")
                         : fmt::format("- {} → {}\n", bold_label(line.query),
                                       md(fmt::format("{}", fmt::join(line.picks, " · "))));
      }
      paragraph(list.substr(0, list.size() - 1));
    }
  }

  const Trace& trace_;
  const TextOptions& options_;
  std::ostream& out_;
};

}  // namespace

void render_markdown(const Trace& trace, const TextOptions& options, std::ostream& out) {
  MarkdownWriter(trace, options, out).write();
}

}  // namespace attn_trace
