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
#include "walkthrough.hpp"

namespace attn_trace::walkthrough {

// Returns "━━ title ━━━…": `title` (which starts with "━━ ") ruled out to `width` columns, or
// `title` alone when it takes them all.
[[nodiscard]] std::string rule(std::string_view title, std::size_t width);

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

  // Writes the empty line that sets a part apart from the one before it; nothing at the very start
  // (a walkthrough without its header starts with its first stage).
  void blank_line() {
    if (written_) line();
  }

  // Writes `text` on lines of at most width() columns, broken between words; every line after the
  // first starts with `indent`. Runs of spaces inside a line are kept (formulas use them as
  // separators).
  void wrapped(std::string_view text, std::string_view indent);

  // Returns `unicode` as it will be printed: to_ascii under --ascii, else unchanged.
  [[nodiscard]] std::string symbol(std::string_view unicode) const;

  // Returns the label of index `i` along `axis`, for batch `b`: its query or key token, or the
  // batch's or head's number as the whole trace counts it (a focused trace keeps one).
  [[nodiscard]] std::string label(Axis axis, std::size_t i, std::size_t b) const {
    return axis_label(trace_, axis, i, b);
  }

 private:
  const Trace& trace_;
  const TextOptions& options_;
  std::ostream& out_;
  std::size_t width_;
  bool written_ = false;  // a line has been written
};

// In text_header.cpp.

// Writes the header: the trace's name, then its tokens, sizes, scale, weights, masks and focus,
// then its notes and warnings. It describes the whole input, whatever slice the tables show.
void write_header(TextWriter& w);

// In text_heat.cpp.

// Returns how tensor `t` of `stage` is shaded, or nothing: only scores, scaled, masked and weights
// are shaded, and only when colour is on.
[[nodiscard]] std::optional<Heat> heat_for(const TextWriter& w, const Stage& stage,
                                           const Tensor& t);

// Writes the legend above a shaded table: its scale on the shades themselves, and the blocked
// shade when `blocked` (some shown cell is blocked).
void write_legend(TextWriter& w, const Heat& heat, bool blocked);

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
