// The stage functions of stages.hpp. Each is the formula in its comment, written with Eigen.
#include "attn_trace/stages.hpp"

#include <cassert>

namespace attn_trace {

Matrix project(const Matrix& x, const Linear& linear) {
  assert(x.cols() == linear.weight.cols());
  Matrix y(x.rows(), linear.weight.rows());
  y.noalias() = x * linear.weight.transpose();
  if (linear.bias) y.rowwise() += linear.bias->transpose();
  return y;
}

Matrix head_slice(const Matrix& m, Index head, Index head_dim) {
  assert((head + 1) * head_dim <= m.cols());
  return m.middleCols(head * head_dim, head_dim);
}

Matrix attention_scores(const Matrix& q, const Matrix& k) {
  assert(q.cols() == k.cols());
  Matrix scores(q.rows(), k.rows());
  scores.noalias() = q * k.transpose();
  return scores;
}

Matrix scale_scores(const Matrix& scores, double s) {
  return scores * s;
}

Matrix softmax_rows(const Matrix& scaled) {
  Matrix weights(scaled.rows(), scaled.cols());
  for (Index i = 0; i < scaled.rows(); ++i) {
    // pass 1: the row max, for numerical stability
    const double row_max = scaled.row(i).maxCoeff();
    // pass 2: exp and sum
    weights.row(i) = (scaled.row(i).array() - row_max).exp().matrix();
    const double sum = weights.row(i).sum();
    // pass 3: normalise, so the row sums to 1
    weights.row(i) /= sum;
  }
  return weights;
}

std::vector<Matrix> weighted_values(const Matrix& weights, const Matrix& v) {
  assert(weights.cols() == v.rows());
  std::vector<Matrix> weighted;
  weighted.reserve(static_cast<std::size_t>(weights.rows()));
  for (Index i = 0; i < weights.rows(); ++i) {
    // Row j of this block is V[j,:] scaled by how much query i attends to key j.
    weighted.emplace_back(weights.row(i).transpose().asDiagonal() * v);
  }
  return weighted;
}

Matrix sum_over_keys(const std::vector<Matrix>& weighted) {
  assert(!weighted.empty());
  Matrix context(static_cast<Index>(weighted.size()), weighted.front().cols());
  for (std::size_t i = 0; i < weighted.size(); ++i) {
    context.row(static_cast<Index>(i)) = weighted[i].colwise().sum();
  }
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
