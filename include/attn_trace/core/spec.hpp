// Spec: the resolved problem, in one canonical form. The loader (input/load.hpp) translates every
// input convention — packed or separate weights, torch (out, in) or math (in, out) layout,
// PyTorch or tutorial names — into this; nothing downstream knows which form the user wrote.
//
// Legend, used the same in code, printout, JSON and docs:
//   B batch, L query length, S key length, E embed dim (width of X), H heads,
//   D projection width (width of Q, K, V; D = E for nn.MultiheadAttention), d = D / H head dim,
//   kdim and vdim the widths of the key and value inputs in cross-attention (E otherwise).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/matrix.hpp"
#include "attn_trace/core/published.hpp"

namespace attn_trace {

enum class ScaleRule { head_dim, embed_dim, none, custom };
enum class WeightLayout { torch, math };
// Where K and V come from: the queries' own input (self-attention), one other input (kv_input),
// or one input each (key_input, value_input).
enum class KeySource { self, kv_input, separate };

// One linear map y = x·Wᵀ + b, stored as nn.Linear stores it.
struct Linear {
  Matrix weight;               // (out, in)
  std::optional<Vector> bias;  // (out), or none
};

struct Spec {
  std::string name, description, source;  // shown in the header; may be empty

  bool batched = false;        // input was (B, L, E) rather than (L, E)
  std::vector<Matrix> inputs;  // B matrices X_b of shape (L, E); one when unbatched
  std::vector<std::vector<std::string>> tokens;  // one list of L labels per batch

  // Cross-attention: B matrices (S, kdim) for the keys and (S, vdim) for the values; empty in
  // self-attention, where both are `inputs`. With kv_input the two lists are the same.
  KeySource key_source = KeySource::self;
  std::vector<Matrix> key_inputs, value_inputs;
  std::vector<std::vector<std::string>> kv_tokens;  // one list of S labels per batch

  Index num_heads = 1;
  ScaleRule scale_rule = ScaleRule::head_dim;
  double custom_scale = 1.0;  // the multiplier itself, when scale_rule == custom
  WeightLayout weight_layout = WeightLayout::torch;

  // Q/K/V projections: all three or none. None means Q = K = V = X (basic self-attention).
  std::optional<Linear> q_proj, k_proj, v_proj;
  std::optional<Linear> out_proj;  // none: there is no out_proj stage

  // nn.MultiheadAttention's add_bias_kv (one learned key row and value row appended after the
  // projections) and add_zero_attn (a zero key row and value row appended after those).
  std::optional<Vector> bias_k, bias_v;  // (D) each, both or neither
  bool add_zero_attn = false;

  Masks masks;

  // Things the loader wants the reader to know (e.g. how a packed matrix was split).
  std::vector<std::string> notes;
  // What a tutorial printed for some tensors (an example's "published" block), to compare.
  std::vector<PublishedTensor> published;

  // Things that are valid but most likely not what the user meant (a float 0/1 attn_mask).
  std::vector<std::string> warnings;

  [[nodiscard]] Index batch_size() const { return static_cast<Index>(inputs.size()); }
  [[nodiscard]] Index q_len() const { return inputs.front().rows(); }
  // S, the key rows given; the scores have extra_keys() more columns.
  [[nodiscard]] Index kv_len() const {
    return key_inputs.empty() ? q_len() : key_inputs.front().rows();
  }
  [[nodiscard]] Index extra_keys() const { return (bias_k ? 1 : 0) + (add_zero_attn ? 1 : 0); }
  [[nodiscard]] Index embed_dim() const { return inputs.front().cols(); }
  [[nodiscard]] Index key_dim() const {  // kdim
    return key_inputs.empty() ? embed_dim() : key_inputs.front().cols();
  }
  [[nodiscard]] Index value_dim() const {  // vdim
    return value_inputs.empty() ? embed_dim() : value_inputs.front().cols();
  }
  [[nodiscard]] const Matrix& key_input(Index b) const {
    return (key_inputs.empty() ? inputs : key_inputs)[static_cast<std::size_t>(b)];
  }
  [[nodiscard]] const Matrix& value_input(Index b) const {
    return (value_inputs.empty() ? inputs : value_inputs)[static_cast<std::size_t>(b)];
  }
  [[nodiscard]] bool learned_projections() const { return q_proj.has_value(); }
  [[nodiscard]] Index model_dim() const;  // D
  [[nodiscard]] Index head_dim() const { return model_dim() / num_heads; }
  // The multiplier applied to the scores: 1/√d, 1/√E, 1 or the custom number.
  [[nodiscard]] double scale() const;
};

[[nodiscard]] std::string_view scale_rule_name(ScaleRule rule);
[[nodiscard]] std::string_view weight_layout_name(WeightLayout layout);
[[nodiscard]] std::string_view key_source_name(KeySource source);

// The head counts that split `width` columns into equal slices: its divisors, ascending.
[[nodiscard]] std::vector<Index> head_counts(Index width);

}  // namespace attn_trace
