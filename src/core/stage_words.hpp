// What the walkthrough says of each stage besides its numbers: the formula, the shape algebra, the
// notes and the warnings, worded for this trace's sizes and options. Private to core: the tracer
// (tracer.cpp) computes a stage's tensors, then takes its words from here, so that the math reads
// without the prose around it. The stages' fixed texts (name, title, what and why) are the table
// of stage_id.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/stages.hpp"
#include "attn_trace/core/tensor.hpp"
#include "attn_trace/core/trace.hpp"
#include "layout.hpp"

namespace attn_trace {

struct StageWords {
  std::string title = {};    // empty: the stage's title in the table
  std::string formula = {};  // "scores_h = Q_h·K_hᵀ"
  std::string shapes = {};   // "(3×2)·(2×3) → (3×3), for each of 2 heads → (2×3×3)"
  std::string note = {};     // a sentence for the reader, or empty
};

// `inputs`: X, then the key and value sources of cross-attention (X_kv, or X_k and X_v).
[[nodiscard]] StageWords input_words(const Layout& layout, const std::vector<Tensor>& inputs);
// `Q`: the projected queries.
[[nodiscard]] StageWords projection_words(const Spec& spec, const Layout& layout, const Tensor& Q);
// `K`: the keys with the extra rows.
[[nodiscard]] StageWords extra_key_words(const Spec& spec, const Layout& layout, const Tensor& K);
[[nodiscard]] StageWords split_words(const Layout& layout, const Tensor& Q_heads,
                                     const Tensor& K_heads);
[[nodiscard]] StageWords score_words(const Layout& layout, const Tensor& scores);
[[nodiscard]] StageWords scaling_words(const Spec& spec, const Layout& layout,
                                       const Tensor& scaled);
[[nodiscard]] StageWords masking_words(const Spec& spec, const Layout& layout,
                                       const Tensor& masked);
// `input`: "masked" after a masking stage, else "scaled".
[[nodiscard]] StageWords softmax_words(const Layout& layout, const Tensor& weights,
                                       std::string_view input);
[[nodiscard]] StageWords weighted_words(const Layout& layout, const Tensor& weighted);
[[nodiscard]] StageWords summation_words(const Layout& layout, const Tensor& context);
[[nodiscard]] StageWords merge_words(const Layout& layout, const Tensor& merged);
[[nodiscard]] StageWords out_proj_words(const Spec& spec, const Layout& layout,
                                        const Tensor& output);

// Why a trace has no `id` stage (e.g. split_heads with one head).
[[nodiscard]] std::string_view skip_reason(StageId id);

// A query row of one batch and head whose every key is blocked, and whose weights are nan.
struct BlockedRow {
  Index batch = 0, head = 0, query = 0;
  friend auto operator<=>(const BlockedRow&, const BlockedRow&) = default;
};

// Whether row `i` of these blocks of the additive mask and the weights has every key blocked and
// nan weights (PyTorch's softmax of nothing but −∞ is 0/0).
[[nodiscard]] bool blocked_row(const MatrixRef& additive, const MatrixRef& weights, Index i);

// The warning naming every such row, in order (`heads`: H with a head axis, else 1); none when
// there is none.
[[nodiscard]] std::optional<std::string> blocked_row_warning(const Spec& spec,
                                                             std::vector<BlockedRow> rows,
                                                             Index heads);

// A warning for the first tensor whose numbers are not all finite (every later stage inherits
// them), or none; it names the inputs and weights of `spec` that hold NaN or ±Infinity, when
// those are the cause rather than an overflow. The masking stage's −∞ are its point, not a
// problem; and once a row has every key blocked (`blocked_rows`), the nan from the softmax on are
// explained by their own warning.
[[nodiscard]] std::optional<std::string> non_finite_warning(const Spec& spec,
                                                            const std::vector<Stage>& stages,
                                                            bool blocked_rows);

}  // namespace attn_trace
