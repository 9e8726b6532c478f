// The stage functions of stages.hpp. Each is the formula in its comment, written with Eigen.
#include "attn_trace/core/stages.hpp"

#include <cassert>
#include <cmath>

namespace attn_trace {

Matrix project(const MatrixRef& x, const Linear& linear) {
  assert(x.cols() == linear.weight.cols());
  Matrix y(x.rows(), linear.weight.rows());
  y.noalias() = x * linear.weight.transpose();
  if (linear.bias) y.rowwise() += linear.bias->transpose();
  return y;
}

Matrix append_keys(const MatrixRef& m, const std::optional<Vector>& bias, bool zero_row) {
  assert(!bias || bias->size() == m.cols());
  const Index extra = (bias ? 1 : 0) + (zero_row ? 1 : 0);
  Matrix out(m.rows() + extra, m.cols());
  out.topRows(m.rows()) = m;
  if (bias) out.row(m.rows()) = bias->transpose();
  if (zero_row) out.bottomRows(1).setZero();
  return out;
}

Matrix head_slice(const MatrixRef& m, Index head, Index head_dim) {
  assert((head + 1) * head_dim <= m.cols());
  return m.middleCols(head * head_dim, head_dim);
}

Matrix attention_scores(const MatrixRef& q, const MatrixRef& k) {
  assert(q.cols() == k.cols());
  Matrix scores(q.rows(), k.rows());
  scores.noalias() = q * k.transpose();
  return scores;
}

Matrix scale_scores(const MatrixRef& scores, double s) {
  return scores * s;
}

Matrix mask_scores(const MatrixRef& scaled, const MatrixRef& additive_mask) {
  assert(scaled.rows() == additive_mask.rows() && scaled.cols() == additive_mask.cols());
  return scaled + additive_mask;
}

Matrix softmax_rows(const MatrixRef& scaled) {
  Matrix weights(scaled.rows(), scaled.cols());
  for (Index i = 0; i < scaled.rows(); ++i) {
    // pass 1: the row max, for numerical stability
    const double row_max = scaled.row(i).maxCoeff();
    // pass 2: exp and sum
    // std::exp, not Eigen's vectorised exp, which clamps its input: exp(−1000) must be 0, not
    // 1e−308, to match PyTorch (and −inf, from a mask, must give exactly 0).
    weights.row(i) =
        (scaled.row(i).array() - row_max).unaryExpr([](double x) { return std::exp(x); });
    const double sum = weights.row(i).sum();
    // pass 3: normalise, so the row sums to 1
    weights.row(i) /= sum;
  }
  return weights;
}

Matrix weighted_values(const MatrixRef& weights_row, const MatrixRef& v) {
  assert(weights_row.rows() == 1 && weights_row.cols() == v.rows());
  // Row j is V[j,:] scaled by how much the query attends to key j.
  return weights_row.transpose().asDiagonal() * v;
}

Matrix weighted_sum(const MatrixRef& weights, const MatrixRef& v) {
  assert(weights.cols() == v.rows());
  Matrix context(weights.rows(), v.cols());
  context.noalias() = weights * v;
  return context;
}

Matrix merge_heads(const std::vector<Matrix>& heads) {
  assert(!heads.empty());
  const Index head_dim = heads.front().cols();
  Matrix merged(heads.front().rows(), head_dim * static_cast<Index>(heads.size()));
  for (std::size_t h = 0; h < heads.size(); ++h) {
    merged.middleCols(static_cast<Index>(h) * head_dim, head_dim) = heads[h];
  }
  return merged;
}

}  // namespace attn_trace
