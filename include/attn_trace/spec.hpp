// Spec: the resolved problem, in one canonical form. The loader (load.hpp) translates every input
// convention — packed or separate weights, torch (out, in) or math (in, out) layout, PyTorch or
// tutorial names — into this; nothing downstream knows which form the user wrote.
//
// Legend, used the same in code, printout, JSON and docs:
//   B batch, L query length, S key length, E embed dim (width of X), H heads,
//   D projection width (width of Q, K, V; D = E for nn.MultiheadAttention), d = D / H head dim.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attn_trace/matrix.hpp"

namespace attn_trace {

enum class ScaleRule { head_dim, embed_dim, none, custom };
enum class WeightLayout { torch, math };

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

  Index num_heads = 1;
  ScaleRule scale_rule = ScaleRule::head_dim;
  double custom_scale = 1.0;  // the multiplier itself, when scale_rule == custom
  WeightLayout weight_layout = WeightLayout::torch;

  // Q/K/V projections: all three or none. None means Q = K = V = X (basic self-attention).
  std::optional<Linear> q_proj, k_proj, v_proj;
  std::optional<Linear> out_proj;  // none: there is no out_proj stage

  // Things the loader wants the reader to know (e.g. how a packed matrix was split).
  std::vector<std::string> notes;

  [[nodiscard]] Index batch_size() const { return static_cast<Index>(inputs.size()); }
  [[nodiscard]] Index q_len() const { return inputs.front().rows(); }
  [[nodiscard]] Index kv_len() const { return q_len(); }
  [[nodiscard]] Index embed_dim() const { return inputs.front().cols(); }
  [[nodiscard]] bool learned_projections() const { return q_proj.has_value(); }
  [[nodiscard]] Index model_dim() const;  // D
  [[nodiscard]] Index head_dim() const { return model_dim() / num_heads; }
  // The multiplier applied to the scores: 1/√d, 1/√E, 1 or the custom number.
  [[nodiscard]] double scale() const;
};

[[nodiscard]] std::string_view scale_rule_name(ScaleRule rule);
[[nodiscard]] std::string_view weight_layout_name(WeightLayout layout);

}  // namespace attn_trace
