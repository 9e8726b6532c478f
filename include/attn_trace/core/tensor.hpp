// Tensor: a named, n-dimensional array of doubles in row-major order, with a meaning for each axis.
// It is what the trace records for every stage and what every renderer reads; the stage math
// itself works on 2-D Matrix values (matrix.hpp) and the tracer copies them in block by block.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/matrix.hpp"

namespace attn_trace {

// What an axis counts. Renderers use it to label rows and columns (query axis → the tokens, key
// axis → the key tokens, batch and head → block titles).
enum class Axis { batch, head, query, key, feature };

[[nodiscard]] std::string_view axis_name(Axis axis);

struct Tensor {
  std::string name;                // X, Q, K, V, scores, scaled, weights, weighted, context, output
  std::vector<Axis> axes;          // one per dimension
  std::vector<std::size_t> shape;  // one per dimension
  std::vector<double> data;        // row-major, product(shape) values; empty when generated
  // Set for a tensor too large to hold whole (weighted_values of a long sequence): computes one
  // 2-D block on demand, so that a renderer can write it block by block. Such a tensor has no data.
  std::function<Matrix(std::size_t block)> generate;
  // The numbers stand for booleans (1 true, 0 false): a mask given as true/false, shown that way.
  bool boolean = false;
  // Set when only these rows of each block are held (ascending): a long tensor that a walkthrough
  // summarises holds the rows it shows (core/plan.hpp). `data` then has block_count() ×
  // held_rows.size() × cols() numbers. Empty: every row is held.
  std::vector<std::size_t> held_rows = {};

  [[nodiscard]] std::size_t rank() const { return shape.size(); }
  [[nodiscard]] std::size_t size() const;  // product(shape), whether stored or generated
  [[nodiscard]] bool generated() const { return static_cast<bool>(generate); }
  [[nodiscard]] bool partly_held() const { return !held_rows.empty(); }
  // Whether row `row` of each block is held (always, unless partly_held()).
  [[nodiscard]] bool holds_row(std::size_t row) const;
  [[nodiscard]] std::size_t rows() const;  // second-to-last dimension (1 for a rank-1 tensor)
  [[nodiscard]] std::size_t cols() const;  // last dimension
  // Number of 2-D blocks: the product of every dimension but the last two.
  [[nodiscard]] std::size_t block_count() const;
  // Block `block` (a flat index over the leading dimensions) as a rows() × cols() matrix.
  // REQUIRES: !generated() and !partly_held().
  [[nodiscard]] Eigen::Map<const Matrix> block(std::size_t block) const;
  // The same block, stored or generated. REQUIRES: !partly_held().
  [[nodiscard]] Matrix block_values(std::size_t block) const;
  // Row `row` of block `block`, as a 1 × cols() matrix. REQUIRES: !generated(), holds_row(row).
  [[nodiscard]] Eigen::Map<const Matrix> row_of(std::size_t block, std::size_t row) const;
  // The number at `index` (one entry per axis), stored or generated. REQUIRES: each entry within
  // its axis, and its row held.
  [[nodiscard]] double at(std::span<const std::size_t> index) const;
  // Copies `m` (rows() × cols()) into block `block`.
  void set_block(std::size_t block, const Matrix& m);
};

// What a cut keeps of each axis, indexed by Axis: one index, or nothing (the whole axis).
using AxisKeep = std::array<std::optional<std::size_t>, 5>;

// `t` with each axis in `keep` cut to the one index it keeps (its size becomes 1): stored or
// generated. REQUIRES: !t.partly_held().
[[nodiscard]] Tensor cut_tensor(const Tensor& t, const AxisKeep& keep);

// The index (one entry per axis) of element `flat` of a row-major array of `shape`.
[[nodiscard]] std::vector<std::size_t> index_of(std::size_t flat,
                                                std::span<const std::size_t> shape);

// A zero-filled tensor. REQUIRES: axes.size() == shape.size().
[[nodiscard]] Tensor make_tensor(std::string name, std::vector<Axis> axes,
                                 std::vector<std::size_t> shape);

// A zero-filled tensor that holds only rows `held_rows` of each block (ascending, each below the
// block's rows). REQUIRES: rank ≥ 2.
[[nodiscard]] Tensor make_partial_tensor(std::string name, std::vector<Axis> axes,
                                         std::vector<std::size_t> shape,
                                         std::vector<std::size_t> held_rows);

// A tensor whose blocks `generate` computes on demand; it holds no numbers.
[[nodiscard]] Tensor make_generated_tensor(std::string name, std::vector<Axis> axes,
                                           std::vector<std::size_t> shape,
                                           std::function<Matrix(std::size_t block)> generate);

}  // namespace attn_trace
