// The stages of attention, one pure function each, in the order the tutorials compute them.
// Shapes use the legend of spec.hpp; every function is tensors in, tensors out: no I/O, no state.
#pragma once

#include <optional>
#include <vector>

#include "attn_trace/core/matrix.hpp"
#include "attn_trace/core/spec.hpp"

namespace attn_trace {

using MatrixRef = Eigen::Ref<const Matrix>;

// y = x·Wᵀ + b   (L, in)·(out, in)ᵀ + (out) → (L, out)     (the bias is broadcast over rows)
[[nodiscard]] Matrix project(const MatrixRef& x, const Linear& linear);

// K' = [K; bias; 0]   (S, D) → (S + 1 + 1, D): nn.MultiheadAttention's add_bias_kv appends one
// learned row (bias_k to K, bias_v to V), add_zero_attn then one row of zeros. Either may be
// absent. They give every query a key it can always attend to, whatever the masks block.
[[nodiscard]] Matrix append_keys(const MatrixRef& m, const std::optional<Vector>& bias,
                                 bool zero_row);

// Head h's slice of a projection: columns h·d … (h+1)·d − 1, as PyTorch splits them.
// (L, D) → (L, d)
[[nodiscard]] Matrix head_slice(const MatrixRef& m, Index head, Index head_dim);

// scores = Q·Kᵀ   (L, d)·(S, d)ᵀ → (L, S); scores[i,j] = Q[i]·K[j]
[[nodiscard]] Matrix attention_scores(const MatrixRef& q, const MatrixRef& k);

// scaled = scores × s   (L, S) → (L, S)
[[nodiscard]] Matrix scale_scores(const MatrixRef& scores, double s);

// masked = scaled + M   (L, S) + (L, S) → (L, S)
// M is 0 where the query may attend the key and −inf where it may not (masks.hpp), so that the
// softmax gives blocked keys exp(−inf) = 0 weight.
[[nodiscard]] Matrix mask_scores(const MatrixRef& scaled, const MatrixRef& additive_mask);

// weights[i,j] = exp(x[i,j] − m_i) / Σ_k exp(x[i,k] − m_i), m_i = max_k x[i,k]   (L, S) → (L, S)
// Subtracting the row max first keeps exp from overflowing and does not change the result.
// Each row of the result sums to 1. A row whose every entry is −inf (all keys blocked) has no
// softmax: it comes out nan, as in nn.MultiheadAttention (−inf − (−inf) is nan).
[[nodiscard]] Matrix softmax_rows(const MatrixRef& scaled);

// For one query i: weighted[j,:] = weights[i,j] · V[j,:]   (S) ⊙ (S, d) → (S, d)
// The per-key products the tutorials draw before adding them up. `weights_row` is row i of the
// attention weights, as a 1 × S matrix.
[[nodiscard]] Matrix weighted_values(const MatrixRef& weights_row, const MatrixRef& v);

// context[i,:] = Σ_j weighted[i,j,:] = Σ_j weights[i,j]·V[j,:], i.e. context = weights·V
// (L, S)·(S, d) → (L, d). The sum over the keys of weighted_values' blocks, computed without
// making the blocks, as PyTorch does (one matrix product).
[[nodiscard]] Matrix weighted_sum(const MatrixRef& weights, const MatrixRef& v);

// context = [context_0 | context_1 | … | context_{H−1}]   H × (L, d) → (L, H·d)
[[nodiscard]] Matrix merge_heads(const std::vector<Matrix>& heads);

}  // namespace attn_trace
