// The text walkthrough (text.hpp): the walk over the stages, each stage's block, and the cut into
// pages for --step. The header, tables, heatmaps and summary are parts of their own, declared with
// the writer they share in text_writer.hpp.
#include "attn_trace/render/text.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/render/ascii.hpp"
#include "text_writer.hpp"

namespace attn_trace {
namespace walkthrough {
namespace {

// How the traced numbers compare with what the source printed (published_lines), one difference
// per line, so that each can be read (and pointed at) on its own.
void write_published(TextWriter& w, const PublishedCheck& check) {
  const PublishedLines lines = published_lines(check, w.options().precision);
  w.wrapped("  " + lines.headline, "    ");
  for (const std::string& item : lines.items) w.wrapped("    " + item, "      ");
  if (!lines.why.empty()) w.wrapped("    why: " + lines.why, "    ");
}

// One stage, `number` of `total`: its ruled title, what it does (--explain), its formula and
// shapes, then each of its tensors as tables, each followed by how it compares with published
// values.
void write_stage(TextWriter& w, const Stage& stage, std::size_t number, std::size_t total) {
  w.blank_line();
  w.line(rule(fmt::format("━━ {}/{} · {} · {} ", number, total, stage_name(stage.id), stage.title),
              w.width()));
  if (w.options().explain) {
    const StageInfo& text = stage_info(stage.id);
    w.wrapped(fmt::format("  {} {}", text.what, text.why), "  ");
    w.wrapped(fmt::format("  Shape rule: {}", text.shape), "  ");
  }
  w.wrapped("  " + stage.formula, "      ");
  w.wrapped("  shapes: " + stage.shapes, "      ");
  if (!stage.note.empty()) w.wrapped("  " + stage.note, "  ");
  if (stage.id == StageId::masking) w.wrapped(fmt::format("  {}", blocked_cell_note), "  ");
  for (const Tensor& tensor : stage.tensors) {
    if (const auto why = left_out(stage, tensor, w.options().weighted_limit)) {
      w.line();
      w.wrapped(fmt::format("{} {}: {}", tensor.name, dims_text(tensor.shape), *why), "  ");
      continue;
    }
    // The masks as given and their additive form are flags: 1/0, 0/−∞, without decimals.
    const std::optional<Heat> heat = heat_for(w, stage, tensor);
    write_tensor(w, tensor, whole_numbers(stage, tensor), heat ? &*heat : nullptr);
    for (const PublishedCheck* check : published_checks(w.trace(), stage, tensor)) {
      write_published(w, *check);
    }
  }
}

// The whole walkthrough: the header, each stage shown, a note for each stage asked for that the
// trace lacks, and the summary when the walk reaches the end. Calls `at_stage(stage, number,
// total)` before each stage it writes.
template <typename AtStage>
void walk(TextWriter& w, AtStage&& at_stage) {
  const Trace& trace = w.trace();
  const StageSelection& selection = w.options().stages;
  if (w.options().header) write_header(w);
  for (const ShownStage& shown : shown_stages(trace, selection)) {
    at_stage(*shown.stage, shown.number, shown.total);
    write_stage(w, *shown.stage, shown.number, shown.total);
  }
  // A stage asked for by name that this trace does not have: say why, where it would stand.
  for (const std::string& note : absent_stage_notes(trace, selection)) {
    w.line();
    w.wrapped("(" + note + ")", " ");
  }
  if (shows_summary(trace, selection)) write_summary(w);
}

// --ascii: a table's cells were converted as they were drawn (their widths must be known before
// the columns are padded), and wrapped text before it was measured; what was written as it is (the
// rules, the tables' titles, a summary's marks) is converted here.
std::string ascii_text(const std::string& unicode, std::size_t width) {
  std::istringstream lines(to_ascii(unicode));
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    // A stage's rule, drawn to the width before "−∞" became "-inf", is cut back to it.
    while (line.size() > width && line.ends_with("==")) line.pop_back();
    out += line + '\n';
  }
  return out;
}

}  // namespace
}  // namespace walkthrough

void render_text(const Trace& trace, const TextOptions& options, std::ostream& out) {
  const auto no_pages = [](const Stage&, std::size_t, std::size_t) {};
  if (!options.ascii) {
    walkthrough::TextWriter w(trace, options, out);
    walkthrough::walk(w, no_pages);
    return;
  }
  std::ostringstream unicode;
  walkthrough::TextWriter w(trace, options, unicode);
  walkthrough::walk(w, no_pages);
  out << walkthrough::ascii_text(unicode.str(), static_cast<std::size_t>(options.width));
}

std::vector<TextPage> render_text_pages(const Trace& trace, const TextOptions& options) {
  std::vector<TextPage> pages;
  std::ostringstream page;
  walkthrough::TextWriter w(trace, options, page);
  // Each stage starts a page; what came before it (the header, the stage before) ends the last.
  walkthrough::walk(w, [&](const Stage& stage, std::size_t number, std::size_t total) {
    if (!pages.empty()) {
      pages.back().text = page.str();
      page.str({});
    }
    pages.push_back({stage.id, number, total, {}});
  });
  if (pages.empty()) pages.push_back({});  // no stage shown: the header alone
  pages.back().text = page.str();
  if (options.ascii) {
    for (TextPage& p : pages)
      p.text = walkthrough::ascii_text(p.text, static_cast<std::size_t>(options.width));
  }
  return pages;
}

}  // namespace attn_trace
