// The shapes of one trace, and how its tensors are built block by block. Private to core: the
// tracer builds every tensor with it, and the stage words (stage_words.hpp) read its sizes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/tensor.hpp"

namespace attn_trace {

// The sizes of one trace, in the legend of spec.hpp.
struct Sizes {
  Index B = 1;        // batches (1 when unbatched)
  Index L = 0;        // queries
  Index S_given = 0;  // keys given (the rows of the key input)
  Index S = 0;        // keys the scores have: S_given and the extra ones (bias_k, add_zero_attn)
  Index E = 0, D = 0, H = 1, d = 0;
  bool batched = false;

  [[nodiscard]] static Sizes of(const Spec& spec);
  [[nodiscard]] bool multi_head() const { return H > 1; }
};

[[nodiscard]] inline std::size_t count(Index n) {
  return static_cast<std::size_t>(n);
}

// The tensors of one trace share their leading axes: batch (when the input is batched) and head
// (when there is more than one head). Layout gives a block's shape those axes, numbers the
// blocks, and writes how one block's shape algebra extends to the whole tensor.
class Layout {
 public:
  explicit Layout(const Sizes& sizes) : n(sizes), heads_(sizes.multi_head() ? sizes.H : 1) {}

  const Sizes n;

  // A tensor of this trace's shape for a block of `dims` (per head or per batch) that holds no
  // numbers: what the stage words describe when the tensor itself is held in part or cut.
  [[nodiscard]] Tensor shaped(std::string name, bool per_head, std::vector<Axis> axes,
                              std::vector<std::size_t> dims) const;

  // H with a head axis, else 1.
  [[nodiscard]] Index heads() const { return heads_; }

  // The block number of batch b, head h in a tensor with a head axis (or b without one).
  [[nodiscard]] std::size_t head_block(Index b, Index h) const { return count(b * heads_ + h); }

  // ", for each of 2 heads → (2×3×3)": how one block's algebra extends to the whole tensor.
  [[nodiscard]] std::string repeat(const Tensor& t, bool per_head) const;

 private:
  // Puts the leading axes (batch, then head) in front of a block's axes.
  void lead(bool per_head, std::vector<Axis>& axes, std::vector<std::size_t>& dims) const;

  Index heads_;  // H, or 1 when the head axis is left out
};

}  // namespace attn_trace
