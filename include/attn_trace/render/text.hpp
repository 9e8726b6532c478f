// The text walkthrough: the trace printed stage by stage, as the tutorials write it on paper.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "attn_trace/core/plan.hpp"
#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/heatmap.hpp"

namespace attn_trace {

struct TextOptions {
  int precision = 4;      // decimals per number
  bool full = false;      // never summarise large tensors
  StageSelection stages;  // --stages and --until
  bool header = true;     // the title, notes and sizes block first (--no-header leaves it out)
  bool explain = false;   // under each stage header, what it does and why (stage_id.hpp's table)
  bool ascii = false;     // plain ASCII: no box drawing, no Unicode math (ascii.hpp)
  // Shade the tables of scores, scaled, masked and weights as heatmaps (heatmap.hpp).
  ColorMode color = ColorMode::none;
  int width = 80;                                       // terminal columns to fit
  std::size_t weighted_limit = default_weighted_limit;  // larger weighted_values are left out
};

// A tensor of more elements than this is summarised (first and last rows and columns) unless
// TextOptions::full.
inline constexpr std::size_t summary_threshold = 1000;

// How every walkthrough format (text, Markdown, LaTeX, HTML) summarises a long tensor unless
// --full, for a TracePlan: a run computes and holds only what the summary shows.
[[nodiscard]] Summarising walkthrough_summarising();

// Writes the walkthrough of `trace` to `out`: the header (the input, its sizes, the scale, the
// weights, the masks), then each stage that options.stages shows (its title, formula, shapes and
// tensors as labelled tables), then the closing summary when the walk reaches the last stage.
// Text is wrapped, and tables split into chunks of columns, to fit options.width columns.
// REQUIRES: `trace` has at least one stage, as trace_attention makes it.
void render_text(const Trace& trace, const TextOptions& options, std::ostream& out);

// The same walkthrough cut into pages, one per stage shown (run --step): the header comes with the
// first page; the notes on skipped stages and the closing summary come with the last.
struct TextPage {
  std::optional<StageId> stage;       // none: a page with only the header (no stage shown)
  std::size_t number = 0, total = 0;  // as the stage's title numbers it: "3/9"
  std::string text;
};
// Returns the pages in order, their texts together render_text's; one page, the header alone, when
// no stage is shown. REQUIRES: as render_text.
[[nodiscard]] std::vector<TextPage> render_text_pages(const Trace& trace,
                                                      const TextOptions& options);

}  // namespace attn_trace
