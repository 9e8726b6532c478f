// The additive form of the masks (masks.hpp).
#include "attn_trace/core/masks.hpp"

#include <cassert>
#include <limits>

namespace attn_trace {

Matrix additive_mask(const Masks& masks, Index b, Index h, Index num_heads, Index q_len,
                     Index kv_len, Index extra_keys) {
  return additive_mask_rows(masks, b, h, num_heads, kv_len, extra_keys, 0, q_len);
}

Matrix additive_mask_rows(const Masks& masks, Index b, Index h, Index num_heads, Index kv_len,
                          Index extra_keys, Index first_row, Index row_count) {
  constexpr double blocked = -std::numeric_limits<double>::infinity();
  // A mask given once holds for every batch.
  const auto pick = [b]<class T>(const std::vector<T>& per_batch) -> const T& {
    return per_batch.size() == 1 ? per_batch.front() : per_batch[static_cast<std::size_t>(b)];
  };
  Matrix m = Matrix::Zero(row_count, kv_len + extra_keys);
  if (masks.attn_mask) {
    const AttnMask& a = *masks.attn_mask;
    const Matrix& given =
        a.per_head ? a.blocks[static_cast<std::size_t>(b * num_heads + h)] : a.blocks.front();
    assert(given.rows() >= first_row + row_count && given.cols() == kv_len);
    const auto rows = given.middleRows(first_row, row_count);
    if (a.boolean) {
      m.leftCols(kv_len) = (rows.array() != 0).select(blocked, m.leftCols(kv_len));
    } else {
      m.leftCols(kv_len) = rows;  // added as it is, −inf included
    }
  }
  if (masks.mask) {
    const auto keep = pick(masks.mask->keep).middleRows(first_row, row_count);
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

std::vector<Tensor> given_masks(const Masks& masks, bool batched, Index batches, Index num_heads) {
  using enum Axis;
  const auto n = [](Index v) { return static_cast<std::size_t>(v); };
  const auto tensor = [](std::string name, std::vector<Axis> axes, std::vector<std::size_t> dims,
                         const std::vector<Matrix>& blocks, bool boolean) {
    Tensor t = make_tensor(std::move(name), std::move(axes), std::move(dims));
    t.boolean = boolean;
    for (std::size_t k = 0; k < blocks.size(); ++k) t.set_block(k, blocks[k]);
    return t;
  };
  std::vector<Tensor> out;
  if (masks.mask) {
    const Matrix& first = masks.mask->keep.front();
    const std::vector<std::size_t> block = {n(first.rows()), n(first.cols())};
    out.push_back(masks.mask->per_batch
                      ? tensor("mask", {batch, query, key}, {n(batches), block[0], block[1]},
                               masks.mask->keep, false)
                      : tensor("mask", {query, key}, block, masks.mask->keep, false));
  }
  if (masks.attn_mask) {
    const AttnMask& a = *masks.attn_mask;
    const Matrix& first = a.blocks.front();
    std::vector<Axis> axes = {query, key};
    std::vector<std::size_t> dims = {n(first.rows()), n(first.cols())};
    if (a.per_head && num_heads > 1) {
      axes.insert(axes.begin(), head);
      dims.insert(dims.begin(), n(num_heads));
    }
    if (a.per_head && batched) {
      axes.insert(axes.begin(), batch);
      dims.insert(dims.begin(), n(batches));
    }
    out.push_back(tensor("attn_mask", std::move(axes), std::move(dims), a.blocks, a.boolean));
  }
  if (masks.key_padding_mask) {
    const std::vector<Vector>& ignore = masks.key_padding_mask->ignore;
    const std::size_t keys = n(ignore.front().size());
    // One row per batch: (B, S), or (S) unbatched.
    Tensor t = batched ? make_tensor("key_padding_mask", {batch, key}, {ignore.size(), keys})
                       : make_tensor("key_padding_mask", {key}, {keys});
    t.boolean = true;
    for (std::size_t b = 0; b < ignore.size(); ++b) {
      for (std::size_t j = 0; j < keys; ++j)
        t.data[b * keys + j] = ignore[b](static_cast<Index>(j));
    }
    out.push_back(std::move(t));
  }
  return out;
}

Matrix causal_keep(Index q_len, Index kv_len) {
  Matrix keep(q_len, kv_len);
  for (Index i = 0; i < q_len; ++i) {
    for (Index j = 0; j < kv_len; ++j) keep(i, j) = j <= i ? 1.0 : 0.0;
  }
  return keep;
}

}  // namespace attn_trace
