// Masks: which keys a query may not attend to, in the three conventions a learner meets.
//
//   mask              the tutorials' keep-mask: 1 = may attend, 0 = blocked; or "causal"
//   attn_mask         nn.MultiheadAttention's: booleans with true = blocked, or numbers added to
//                     the scaled scores (scaled_dot_product_attention's booleans mean the opposite)
//   key_padding_mask  nn.MultiheadAttention's: true = that key is ignored by every query
//
// Whatever was given, the tracer adds one matrix M to the scaled scores: M = 0 where a query may
// attend a key, −inf where it may not (exp(−inf) = 0, so the softmax gives those keys no weight),
// and a float attn_mask's own numbers elsewhere. That is PyTorch's rule too: it turns a boolean
// mask into 0/−inf, merges key_padding_mask into attn_mask, and adds the result.
#pragma once

#include <optional>
#include <vector>

#include "attn_trace/core/matrix.hpp"
#include "attn_trace/core/tensor.hpp"

namespace attn_trace {

struct KeepMask {
  bool causal = false;       // "causal": query i may attend keys j ≤ i (top-left aligned)
  bool per_batch = false;    // given as (B, L, S) rather than (L, S)
  std::vector<Matrix> keep;  // (L, S) each, 1 = may attend; one, or one per batch
};

struct AttnMask {
  bool boolean = false;        // booleans (true = blocked) rather than numbers to add
  bool per_head = false;       // given 3-D: (B·H, L, S), or (H, L, S) unbatched
  std::vector<Matrix> blocks;  // (L, S) each: one, or B·H indexed b·H + h (blocked = 1, or −inf)
};

struct KeyPaddingMask {
  std::vector<Vector> ignore;  // (S) each, 1 = ignored; one, or one per batch
};

struct Masks {
  std::optional<KeepMask> mask;
  std::optional<AttnMask> attn_mask;
  std::optional<KeyPaddingMask> key_padding_mask;

  [[nodiscard]] bool any() const { return mask || attn_mask || key_padding_mask; }
};

// A key is blocked for a query when the additive mask is −1e9 or less there: −∞, or the large
// negative number tutorials write for it (masked_fill(mask == 0, -1e9)). Beside any key that is not
// blocked, exp gives it a weight of exactly 0 either way. This is the one rule: the walkthrough
// shades such a cell as blocked, explain names the mask that blocked it, and the summary says when
// a query has no key left.
inline constexpr double blocking_threshold = -1e9;
[[nodiscard]] inline bool blocks_key(double additive_mask_value) {
  return additive_mask_value <= blocking_threshold;
}

// The additive mask M for batch b and head h of `num_heads`: (L, S + extra_keys), where the
// masks were given for L queries and S keys. The extra key columns (bias_k, add_zero_attn) are
// never blocked: PyTorch pads every mask with 0 for them.
[[nodiscard]] Matrix additive_mask(const Masks& masks, Index b, Index h, Index num_heads,
                                   Index q_len, Index kv_len, Index extra_keys);

// Rows first_row … first_row + row_count − 1 of the same mask: (row_count, S + extra_keys).
[[nodiscard]] Matrix additive_mask_rows(const Masks& masks, Index b, Index h, Index num_heads,
                                        Index kv_len, Index extra_keys, Index first_row,
                                        Index row_count);

// Each mask as the user gave it, for the masking stage to show: booleans stay booleans, "causal"
// becomes its keep-matrix, a 3-D attn_mask (B·H, L, S) is shown as (B, H, L, S), the way PyTorch
// reads it, and key_padding_mask as (B, S), or (S) unbatched.
[[nodiscard]] std::vector<Tensor> given_masks(const Masks& masks, bool batched, Index batches,
                                              Index num_heads);

// The keep-mask of "causal" for L queries and S keys: keep[i,j] = 1 when j ≤ i, the complement
// of torch.triu(ones(L, S), 1).
[[nodiscard]] Matrix causal_keep(Index q_len, Index kv_len);

}  // namespace attn_trace
