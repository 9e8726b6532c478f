// The stages of attention, one pure function each, in the order the tutorials compute them.
// Shapes use the legend of spec.hpp; every function is tensors in, tensors out: no I/O, no state.
#pragma once

#include <vector>

#include "attn_trace/matrix.hpp"
#include "attn_trace/spec.hpp"

namespace attn_trace {

// y = x·Wᵀ + b   (L, in)·(out, in)ᵀ + (out) → (L, out)     (the bias is broadcast over rows)
[[nodiscard]] Matrix project(const Matrix& x, const Linear& linear);

// Head h's slice of a projection: columns h·d … (h+1)·d − 1, as PyTorch splits them.
// (L, D) → (L, d)
[[nodiscard]] Matrix head_slice(const Matrix& m, Index head, Index head_dim);

// scores = Q·Kᵀ   (L, d)·(S, d)ᵀ → (L, S); scores[i,j] = Q[i]·K[j]
[[nodiscard]] Matrix attention_scores(const Matrix& q, const Matrix& k);

// scaled = scores × s   (L, S) → (L, S)
[[nodiscard]] Matrix scale_scores(const Matrix& scores, double s);

// weights[i,j] = exp(x[i,j] − m_i) / Σ_k exp(x[i,k] − m_i), m_i = max_k x[i,k]   (L, S) → (L, S)
// Subtracting the row max first keeps exp from overflowing and does not change the result.
// Each row of the result sums to 1.
[[nodiscard]] Matrix softmax_rows(const Matrix& scaled);

// weighted[i][j,:] = weights[i,j] · V[j,:]   (L, S) ⊙ (S, d) → L × (S, d)
// The per-key products the tutorials draw before adding them up.
[[nodiscard]] std::vector<Matrix> weighted_values(const Matrix& weights, const Matrix& v);

// context[i,:] = Σ_j weighted[i][j,:]   L × (S, d) → (L, d)   (the same as weights·V)
[[nodiscard]] Matrix sum_over_keys(const std::vector<Matrix>& weighted);

// context = [context_0 | context_1 | … | context_{H−1}]   H × (L, d) → (L, H·d)
[[nodiscard]] Matrix merge_heads(const std::vector<Matrix>& heads);

}  // namespace attn_trace
