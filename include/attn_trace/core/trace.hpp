// Trace: everything one run of attention computed, as data. A list of stages, each with an id, a
// title, a formula, its shape algebra and named tensors. Every renderer reads only this.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/published.hpp"
#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/tensor.hpp"

namespace attn_trace {

struct Stage {
  StageId id;
  std::string title;    // "Attention scores"
  std::string formula;  // "scores = Q·Kᵀ"
  std::string shapes;   // "(3×2)·(2×3) → (3×3)"
  std::vector<Tensor> tensors;
  std::string note;  // a sentence for the reader, or empty
};

// A stage that this trace does not have, and why (e.g. split_heads with one head).
struct SkippedStage {
  StageId id;
  std::string reason;
};

struct TraceConfig {
  std::optional<Index> batch;  // B, or none for unbatched input
  // kv_len counts every key the scores have: the S given and the extra ones appended.
  Index q_len = 0, kv_len = 0, embed_dim = 0, model_dim = 0, num_heads = 1, head_dim = 0;
  double scale = 1.0;  // the multiplier actually used
  ScaleRule scale_rule = ScaleRule::head_dim;
  WeightLayout weight_layout = WeightLayout::torch;
  bool learned_projections = false;
  bool out_proj = false;
  KeySource key_source = KeySource::self;
  Index key_dim = 0, value_dim = 0;         // kdim, vdim: E in self-attention
  bool bias_kv = false, zero_attn = false;  // the extra keys, in that order
  std::vector<std::string> masks;  // the mask keys given: mask, attn_mask, key_padding_mask
};

// What a focused trace (teach/focus.hpp) kept of each axis it cut: positions in the whole trace.
struct TraceFocus {
  std::optional<std::size_t> batch, head, query;
  std::size_t batches = 1, heads = 1, queries = 0;  // how many the whole trace has
  std::vector<std::vector<std::string>> tokens;     // the whole trace's query labels
};

struct Trace {
  std::string name, description, source;
  TraceConfig config;
  std::vector<std::vector<std::string>> tokens;  // query labels, one list per batch
  // Key labels, one list per batch; "<bias_kv>" and "<zero_attn>" label the extra keys.
  std::vector<std::vector<std::string>> kv_tokens;
  std::vector<std::string> notes;
  // Numbers the reader should not trust (inf, nan) and input that is most likely a mistake.
  std::vector<std::string> warnings;
  std::vector<Stage> stages;          // in the order they were computed
  std::vector<SkippedStage> skipped;  // every other stage id, with the reason
  // How the traced numbers compare with the values a source published (empty when none given).
  std::vector<PublishedCheck> published;
  // Set when the tensors hold only one slice (run --focus).
  std::optional<TraceFocus> focus;

  // The stage with this id, or nullptr when this trace has none (e.g. split_heads for one head).
  [[nodiscard]] const Stage* find_stage(StageId id) const;
  // Index i of a batch or head axis as the whole trace counts it: the focused one, when cut.
  [[nodiscard]] std::size_t whole_index(Axis axis, std::size_t i) const;
};

// weighted_values holds B·H·L·S·d numbers: 200 million for one BERT-base layer (L = 512, 12
// heads). Above this many the tracer does not hold it (its blocks are generated on demand), and
// renderers leave it out unless the user raises their limit (--weighted-limit).
inline constexpr std::size_t default_weighted_limit = 1'000'000;

// Why a renderer with this limit leaves `tensor` of `stage` out, or nothing when it is written.
[[nodiscard]] std::optional<std::string> left_out(const Stage& stage, const Tensor& tensor,
                                                  std::size_t weighted_limit);

}  // namespace attn_trace
