// The text walkthrough's private parts (render_text, text.hpp): the writer every part writes with,
// the helpers they share, and each part's entry point, in the order a walkthrough prints them:
//
//   text_header.cpp   the header: the input's tokens and sizes, the scale, weights, masks, focus
//   text_heat.cpp     the heatmap shading of scores, scaled, masked and weights (--color)
//   text_tables.cpp   one tensor as labelled tables, summarised when large
//   text_summary.cpp  the closing summary: the result, and whom each query token attends to most
//   text.cpp          the walk over the stages, each stage's block, and the pages of --step
//
// Every part reads the finished trace only; nothing here computes attention.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/matrix.hpp"
#include "attn_trace/core/tensor.hpp"
#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/heatmap.hpp"
#include "attn_trace/render/text.hpp"

namespace attn_trace::walkthrough {

// A summary keeps this many rows, columns, blocks or tokens at each end, with a gap between.
inline constexpr std::size_t edge_items = 3;
// Stands for the gap ("…", "⋮") in a list of shown indices.
inline constexpr std::size_t gap = SIZE_MAX;

// Returns the indices 0 … n−1, or, when `summarise` and n > 2·edge_items, the first and last
// edge_items with `gap` between them.
[[nodiscard]] std::vector<std::size_t> shown(std::size_t n, bool summarise);

// Returns `value` in fixed point with `precision` decimals; in scientific notation beyond ±1e9,
// where fixed digits stop helping; −∞, ∞ and nan as core's symbols (a mask puts −∞ in blocked
// cells, which should stand out). Never "-0.0000": a value that rounds to zero prints as zero.
[[nodiscard]] std::string format_number(double value, int precision);

// Returns `token` as a label that stays on one line and in its column: printable, cut to at most
// 12 columns.
[[nodiscard]] std::string token_label(const std::string& token);

// Returns "━━ title ━━━…": `title` (which starts with "━━ ") ruled out to `width` columns, or
// `title` alone when it takes them all.
[[nodiscard]] std::string rule(std::string_view title, std::size_t width);

// Returns the masking stage's additive mask for a tensor of the scores' shape, or nullptr when the
// trace has no masks.
[[nodiscard]] const Tensor* additive_mask_for(const Trace& trace, const Tensor& t);

// What every part writes with: the trace, the options, and the stream the walkthrough goes to.
// The text is written in Unicode; under --ascii, what is measured before it is written (wrapped
// text, a table's cells and marks) goes through wrapped() or symbol(), which convert it, and
// everything else is converted at the end (text.cpp).
class TextWriter {
 public:
  // REQUIRES: `trace`, `options` and `out` outlive the writer.
  TextWriter(const Trace& trace, const TextOptions& options, std::ostream& out)
      : trace_(trace),
        options_(options),
        out_(out),
        width_(static_cast<std::size_t>(options.width)) {}

  [[nodiscard]] const Trace& trace() const { return trace_; }
  [[nodiscard]] const TextOptions& options() const { return options_; }
  // The columns every line should fit in.
  [[nodiscard]] std::size_t width() const { return width_; }

  // Writes `text` and a newline.
  void line(std::string_view text = {});

  // Writes `text` on lines of at most width() columns, broken between words; every line after the
  // first starts with `indent`. Runs of spaces inside a line are kept (formulas use them as
  // separators).
  void wrapped(std::string_view text, std::string_view indent);

  // Returns `unicode` as it will be printed: to_ascii under --ascii, else unchanged.
  [[nodiscard]] std::string symbol(std::string_view unicode) const;

  // Returns the label of index `i` along `axis`, for batch `b`: its query or key token, or the
  // batch's or head's number as the whole trace counts it (a focused trace keeps one).
  [[nodiscard]] std::string label(Axis axis, std::size_t i, std::size_t b) const;

 private:
  const Trace& trace_;
  const TextOptions& options_;
  std::ostream& out_;
  std::size_t width_;
};

// In text_header.cpp.

// Writes the header: the trace's name, then its tokens, sizes, scale, weights, masks and focus,
// then its notes and warnings. It describes the whole input, whatever slice the tables show.
void write_header(TextWriter& w);

// In text_heat.cpp.

// How one heatmap table is shaded: its scale, and where its blocked cells are.
struct Heat {
  HeatScale scale;
  bool weights = false;              // the softmax's weights: a fixed scale from 0 to 1
  bool any = false;                  // the table has a number to shade
  const Tensor* additive = nullptr;  // the masking stage's additive_mask, when there is one
};

// The background of one shaded cell, and whether it is there because a mask blocked the cell.
struct CellShade {
  Rgb colour;
  bool blocked = false;
};

// Returns how tensor `t` of `stage` is shaded, or nothing: only scores, scaled, masked and weights
// are shaded, and only when colour is on.
[[nodiscard]] std::optional<Heat> heat_for(const TextWriter& w, const Stage& stage,
                                           const Tensor& t);

// Writes the legend above a shaded table: its scale on the shades themselves, and the blocked
// shade when `blocked` (some shown cell is blocked).
void write_legend(TextWriter& w, const Heat& heat, bool blocked);

// Returns the shade of cell (r, c) holding `value`, given the same block of the additive mask (or
// nullptr); nothing for a number that is neither finite nor blocked (an overflow), which no shade
// would describe.
[[nodiscard]] std::optional<CellShade> cell_shade(const Heat& heat, double value,
                                                  const Matrix* additive, Index r, Index c);

// In text_tables.cpp.

// Writes tensor `t` under its name, shape and axes: one labelled table per 2-D block, its columns
// split to fit the width, summarised beyond summary_threshold numbers unless --full. `whole`:
// whole numbers print without decimals (a mask as given reads as the 1/0 flags it is). `heat`, when
// set, shades the cells (heat_for).
void write_tensor(TextWriter& w, const Tensor& t, bool whole, const Heat* heat);

// In text_summary.cpp.

// Writes the closing summary: the last stage's result once more, and the key each query token
// attends to most. Writes nothing for a trace without a softmax stage.
void write_summary(TextWriter& w);

}  // namespace attn_trace::walkthrough
