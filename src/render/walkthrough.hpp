// What every walkthrough format shows — the text walkthrough, Markdown, LaTeX and HTML — as data
// read off the finished trace: the header's fields, the stages shown, each tensor's tables (which
// blocks, rows and columns, under which labels), the heatmap scale of a shaded table, and the
// closing summary. Each format only lays these out in its own syntax, so that the four always say
// the same thing (the same numbers, elisions, notes and labels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/matrix.hpp"
#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/tensor.hpp"
#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/heatmap.hpp"

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

// Returns the label of index `i` along `axis`, for batch `b`: its query or key token
// (token_label), or the batch's or head's number as the whole trace counts it (a focused trace
// keeps one).
[[nodiscard]] std::string axis_label(const Trace& trace, Axis axis, std::size_t i, std::size_t b);

// Returns the masking stage's additive mask for a tensor of the scores' shape, or nullptr when the
// trace has no masks.
[[nodiscard]] const Tensor* additive_mask_for(const Trace& trace, const Tensor& t);

// One block of a tensor's numbers, read by the row and column of the whole block: stored,
// generated (computed once, here), or held in part (a long tensor holds the rows a walkthrough
// shows: Tensor::held_rows).
class BlockValues {
 public:
  BlockValues() = default;
  BlockValues(const Tensor& t, std::size_t block);

  // REQUIRES: a block was given, and its row `row` is held.
  [[nodiscard]] double operator()(Index row, Index col) const;

 private:
  const Tensor* tensor_ = nullptr;
  std::size_t block_ = 0;
  Matrix generated_;
};

// ---- The header ----

// One line of the header: "tokens" and "I · am · good", "sizes" and "L = 3 tokens · E = 4 …".
struct HeaderField {
  std::string name;
  std::string value;
};

struct Header {
  std::string title;        // "attn-trace · I am good", printable
  std::string description;  // printable, or empty
  std::string source;       // printable, or empty
  // tokens, keys (cross-attention), sizes, scale, weights, cross, masks, focus: those that apply.
  std::vector<HeaderField> fields;
  std::vector<std::string> notes, warnings;
};

// The header of `trace`: what was traced, its sizes, scale, weights, masks and focus, its notes and
// warnings. It describes the whole input, whatever slice the tables show. Long token lists are
// summarised unless `full`.
[[nodiscard]] Header header_of(const Trace& trace, bool full);

// ---- The stages ----

struct ShownStage {
  const Stage* stage = nullptr;
  std::size_t number = 0, total = 0;  // as the stage's title numbers it: "3/9"
};

// The stages `selection` shows, in order.
[[nodiscard]] std::vector<ShownStage> shown_stages(const Trace& trace,
                                                   const StageSelection& selection);

// "no split_heads stage in this trace: one head": for each stage asked for by name (or by --until)
// that this trace does not have, why.
[[nodiscard]] std::vector<std::string> absent_stage_notes(const Trace& trace,
                                                          const StageSelection& selection);

// Whether the walk reaches the end, so that the closing summary follows: no --stages, and no
// --until before the last stage (one this trace lacks, e.g. out_proj, still shows the whole trace).
[[nodiscard]] bool shows_summary(const Trace& trace, const StageSelection& selection);

// The sentence the masking stage adds under its formula.
inline constexpr std::string_view blocked_cell_note =
    "−∞ marks a blocked cell: exp(−∞) = 0, so that key gets no weight.";

// ---- The tables ----

// Whether `tensor` of `stage` holds flags that print as whole numbers (a mask as given, and its
// additive form: 1/0, 0/−∞), not as decimals.
[[nodiscard]] bool whole_numbers(const Stage& stage, const Tensor& tensor);

// A cell of `t` as printed: true/false for a boolean mask; without decimals when `whole` and the
// value is a whole number; else format_number.
[[nodiscard]] std::string cell_text(const Tensor& t, double value, int precision, bool whole);

// One 2-D block of a tensor to show, or, when `gap` is not empty, the line that stands for the
// blocks a summary leaves out ("⋮ (6 more heads)").
struct TableBlock {
  std::vector<std::size_t> index;  // along each leading axis (all but the last two)
  std::size_t block = 0;           // the flat block number, for Tensor::block_values
  std::size_t batch = 0;           // the batch whose tokens label the rows and columns
  std::string title;               // "batch 0 · head 1", or empty for a tensor of one block
  std::string gap;
};

// What to show of one tensor: its heading, whether it is summarised, the shown rows and columns
// (`gap` where the summary cuts) and blocks.
struct TableLayout {
  std::string heading;  // "scores (2×3×3)   [head × query × key]"
  bool summarised = false;
  std::string summary_note;  // "9216 numbers: the first and last 3 of each axis shown; …"
  Axis row_axis = Axis::feature, col_axis = Axis::feature;
  bool row_labels = true;  // false for a rank-1 tensor: one row without a label
  std::vector<std::size_t> rows, cols;
  std::vector<TableBlock> blocks;
};

// REQUIRES: `t` is a tensor of `trace`. Summarised beyond summary_threshold numbers unless `full`.
[[nodiscard]] TableLayout table_layout(const Trace& trace, const Tensor& t, bool full);

// The index of cell (row, col) of `block` of `t` as `attn-trace explain` takes it on the whole
// trace: a focused trace's batch, head and query positions are mapped back to the whole trace's.
[[nodiscard]] std::vector<std::size_t> whole_cell_index(const Trace& trace, const Tensor& t,
                                                        const TableBlock& block, std::size_t row,
                                                        std::size_t col);

// "softmax.weights[0,1,2]": a cell in explain's CELL syntax, with numeric indices.
[[nodiscard]] std::string cell_name(const Stage& stage, const Tensor& t,
                                    const std::vector<std::size_t>& index);

// ---- What a source published ----

// How the traced numbers of one tensor compare with what a tutorial printed: "✓ weights matches the
// published values (to 4 decimals)", or "✗ weights differs … in 2 of 9 numbers:" with one item per
// number that differs ("[0,1] published 0.5, traced 0.4871 (off by 0.0129)", at most six, then
// "and 3 more"), and why, when the example says.
struct PublishedLines {
  bool matches = true;
  std::string headline;
  std::vector<std::string> items;
  std::string why;  // printable, or empty
};

[[nodiscard]] PublishedLines published_lines(const PublishedCheck& check, int precision);

// The checks of `trace` against published values that are about `tensor` of `stage`.
[[nodiscard]] std::vector<const PublishedCheck*> published_checks(const Trace& trace,
                                                                  const Stage& stage,
                                                                  const Tensor& tensor);

// ---- The heatmaps ----

// How one table is shaded: its scale, and where its blocked cells are. Only scores, scaled, masked
// and weights are shaded.
struct Heat {
  HeatScale scale;
  bool weights = false;              // the softmax's weights: a fixed scale from 0 to 1
  bool any = false;                  // the table has a number to shade
  const Tensor* additive = nullptr;  // the masking stage's additive_mask, when there is one
};

// Returns how tensor `t` of `stage` is shaded, or nothing when it is not one of the four.
[[nodiscard]] std::optional<Heat> heat_of(const Trace& trace, const Stage& stage, const Tensor& t);

// The background of one shaded cell, and whether it is there because a mask blocked the cell.
struct CellShade {
  Rgb colour;
  bool blocked = false;
};

// Returns the shade of cell (r, c) holding `value`, given the same block of the additive mask (or
// nullptr); nothing for a number that is neither finite nor blocked (an overflow), which no shade
// would describe.
[[nodiscard]] std::optional<CellShade> cell_shade(const Heat& heat, double value,
                                                  const BlockValues* additive, Index r, Index c);

// The values a legend shows on their shades: five from low to high, or one when every number is
// the same, or none when there is nothing to shade.
[[nodiscard]] std::vector<double> legend_values(const Heat& heat);

// "low → high", "weights 0 → 1", "every number the same" or "no finite number to shade".
[[nodiscard]] std::string legend_caption(const Heat& heat);

// A legend's number: three significant digits, never "-0".
[[nodiscard]] std::string legend_number(double value);

// ---- The closing summary ----

struct SummaryLine {
  bool gap = false;        // the line that stands for the queries a summary leaves out
  std::string query = {};  // the query token's label (which may be empty)
  std::vector<std::string> picks =
      {};  // per head: "head 0: good 0.37", or "good 0.37" for one head
};

struct SummaryGroup {
  std::string batch;  // "batch 1", or empty when the trace has one batch
  std::vector<SummaryLine> lines;
};

// The result once more, and the key each query token attends to most.
struct Summary {
  const Stage* last = nullptr;     // the last stage
  const Tensor* result = nullptr;  // its last tensor
  std::vector<SummaryGroup> groups;
};

// The closing summary of `trace`, or nothing for a trace without a softmax stage. Long lists of
// queries are summarised unless `full`.
[[nodiscard]] std::optional<Summary> summary_of(const Trace& trace, bool full);

}  // namespace attn_trace::walkthrough
