// The additive form of the masks (masks.hpp).
#include "attn_trace/core/masks.hpp"

#include <cassert>
#include <limits>

namespace attn_trace {

Matrix additive_mask(const Masks& masks, Index b, Index h, Index num_heads, Index q_len,
                     Index kv_len, Index extra_keys) {
  constexpr double blocked = -std::numeric_limits<double>::infinity();
  // A mask given once holds for every batch.
  const auto pick = [b]<class T>(const std::vector<T>& per_batch) -> const T& {
    return per_batch.size() == 1 ? per_batch.front() : per_batch[static_cast<std::size_t>(b)];
  };
  Matrix m = Matrix::Zero(q_len, kv_len + extra_keys);
  if (masks.attn_mask) {
    const AttnMask& a = *masks.attn_mask;
    const Matrix& given =
        a.per_head ? a.blocks[static_cast<std::size_t>(b * num_heads + h)] : a.blocks.front();
    assert(given.rows() == q_len && given.cols() == kv_len);
    if (a.boolean) {
      m.leftCols(kv_len) = (given.array() != 0).select(blocked, m.leftCols(kv_len));
    } else {
      m.leftCols(kv_len) = given;  // added as it is, −inf included
    }
  }
  if (masks.mask) {
    const Matrix& keep = pick(masks.mask->keep);
    m.leftCols(kv_len) = (keep.array() == 0).select(blocked, m.leftCols(kv_len));
  }
  if (masks.key_padding_mask) {
    const Vector& ignore = pick(masks.key_padding_mask->ignore);
    for (Index j = 0; j < kv_len; ++j) {
      if (ignore(j) != 0) m.col(j).setConstant(blocked);
    }
  }
  return m;
}

Matrix causal_keep(Index q_len, Index kv_len) {
  Matrix keep(q_len, kv_len);
  for (Index i = 0; i < q_len; ++i) {
    for (Index j = 0; j < kv_len; ++j) keep(i, j) = j <= i ? 1.0 : 0.0;
  }
  return keep;
}

}  // namespace attn_trace
