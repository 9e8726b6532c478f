// Tensor storage and its 2-D block views.
#include "attn_trace/core/tensor.hpp"

#include <algorithm>
#include <cassert>
#include <functional>
#include <numeric>

namespace attn_trace {

std::string_view axis_name(Axis axis) {
  switch (axis) {
    case Axis::batch:
      return "batch";
    case Axis::head:
      return "head";
    case Axis::query:
      return "query";
    case Axis::key:
      return "key";
    case Axis::feature:
      return "feature";
  }
  return "?";
}

std::size_t Tensor::size() const {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

std::size_t Tensor::rows() const {
  return rank() >= 2 ? shape[rank() - 2] : 1;
}
std::size_t Tensor::cols() const {
  return rank() >= 1 ? shape.back() : 1;
}

std::size_t Tensor::block_count() const {
  std::size_t blocks = 1;
  for (std::size_t axis = 0; axis + 2 < rank(); ++axis) blocks *= shape[axis];
  return blocks;
}

bool Tensor::holds_row(std::size_t row) const {
  return held_rows.empty() || std::binary_search(held_rows.begin(), held_rows.end(), row);
}

Eigen::Map<const Matrix> Tensor::block(std::size_t block) const {
  assert(block < block_count() && !generated() && !partly_held());
  const std::size_t stride = rows() * cols();
  return {data.data() + block * stride, static_cast<Index>(rows()), static_cast<Index>(cols())};
}

Matrix Tensor::block_values(std::size_t block) const {
  return generated() ? generate(block) : Matrix(this->block(block));
}

Eigen::Map<const Matrix> Tensor::row_of(std::size_t block, std::size_t row) const {
  assert(block < block_count() && !generated() && holds_row(row));
  const std::size_t held = partly_held() ? held_rows.size() : rows();
  const std::size_t r =
      partly_held()
          ? static_cast<std::size_t>(std::lower_bound(held_rows.begin(), held_rows.end(), row) -
                                     held_rows.begin())
          : row;
  return {data.data() + (block * held + r) * cols(), 1, static_cast<Index>(cols())};
}

double Tensor::at(std::span<const std::size_t> index) const {
  assert(index.size() == rank());
  if (partly_held()) {
    std::size_t block = 0;
    for (std::size_t a = 0; a + 2 < rank(); ++a) block = block * shape[a] + index[a];
    return row_of(block, index[rank() - 2])(0, static_cast<Index>(index.back()));
  }
  std::size_t flat = 0;
  for (std::size_t a = 0; a < rank(); ++a) flat = flat * shape[a] + index[a];
  if (!generated()) return data[flat];
  // A generated tensor computes the whole block the number is in.
  const std::size_t per_block = rows() * cols();
  const Matrix values = generate(flat / per_block);
  const std::size_t in_block = flat % per_block;
  return values(static_cast<Index>(in_block / cols()), static_cast<Index>(in_block % cols()));
}

void Tensor::set_block(std::size_t block, const Matrix& m) {
  assert(block < block_count());
  assert(static_cast<std::size_t>(m.rows()) == rows() &&
         static_cast<std::size_t>(m.cols()) == cols());
  const std::size_t stride = rows() * cols();
  Eigen::Map<Matrix>(data.data() + block * stride, m.rows(), m.cols()) = m;
}

Tensor make_tensor(std::string name, std::vector<Axis> axes, std::vector<std::size_t> shape) {
  assert(axes.size() == shape.size());
  Tensor t{std::move(name), std::move(axes), std::move(shape), {}, {}};
  t.data.assign(t.size(), 0.0);
  return t;
}

Tensor make_partial_tensor(std::string name, std::vector<Axis> axes, std::vector<std::size_t> shape,
                           std::vector<std::size_t> held_rows) {
  assert(axes.size() == shape.size() && shape.size() >= 2);
  Tensor t{std::move(name), std::move(axes), std::move(shape), {}, {}};
  t.held_rows = std::move(held_rows);
  t.data.assign(t.block_count() * t.held_rows.size() * t.cols(), 0.0);
  return t;
}

Tensor make_generated_tensor(std::string name, std::vector<Axis> axes,
                             std::vector<std::size_t> shape,
                             std::function<Matrix(std::size_t block)> generate) {
  assert(axes.size() == shape.size());
  return Tensor{std::move(name), std::move(axes), std::move(shape), {}, std::move(generate)};
}

std::vector<std::size_t> index_of(std::size_t flat, std::span<const std::size_t> shape) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t a = shape.size(); a-- > 0;) {
    index[a] = flat % shape[a];
    flat /= shape[a];
  }
  return index;
}

}  // namespace attn_trace
