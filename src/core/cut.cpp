// Cutting a tensor to one slice (tensor.hpp): run --focus, in the tracer and in teach/focus.cpp.
#include <cassert>

#include "attn_trace/core/tensor.hpp"

namespace attn_trace {

Tensor cut_tensor(const Tensor& t, const AxisKeep& keep) {
  assert(!t.partly_held());
  // What each of t's axes keeps, by position; copied into a generated tensor's function.
  std::vector<std::optional<std::size_t>> kept(t.rank());
  std::vector<std::size_t> shape = t.shape;
  bool any = false;
  for (std::size_t a = 0; a < t.rank(); ++a) {
    kept[a] = keep[static_cast<std::size_t>(t.axes[a])];
    if (kept[a]) {
      shape[a] = 1;
      any = true;
    }
  }
  if (!any) return t;
  // The index in `t` of an index of the cut tensor.
  const auto source = [kept](std::vector<std::size_t> index) {
    for (std::size_t a = 0; a < index.size(); ++a) {
      if (kept[a]) index[a] = *kept[a];
    }
    return index;
  };
  const auto flat = [](const std::vector<std::size_t>& index, const std::vector<std::size_t>& dims,
                       std::size_t to) {
    std::size_t n = 0;
    for (std::size_t a = 0; a < to; ++a) n = n * dims[a] + index[a];
    return n;
  };
  const std::size_t leading = t.rank() >= 2 ? t.rank() - 2 : 0;
  if (t.generated()) {
    // Its blocks are computed on demand: map each new block to the old one, then cut its rows
    // and columns when those axes are focused too. (weighted_values: rank 3 and more.)
    Tensor out = make_generated_tensor(t.name, t.axes, shape, {});
    out.boolean = t.boolean;
    out.generate = [generate = t.generate, whole = t.shape, shape, leading, source,
                    flat](std::size_t block) {
      std::vector<std::size_t> index(shape.size(), 0);
      for (std::size_t a = leading; a-- > 0;) {
        index[a] = block % shape[a];
        block /= shape[a];
      }
      const std::vector<std::size_t> from = source(index);
      Matrix values = generate(flat(from, whole, leading));
      const Index rows = static_cast<Index>(shape[leading]);
      const Index cols = static_cast<Index>(shape.back());
      if (rows == values.rows() && cols == values.cols()) return values;
      return Matrix(values.block(rows == values.rows() ? 0 : static_cast<Index>(from[leading]),
                                 cols == values.cols() ? 0 : static_cast<Index>(from.back()), rows,
                                 cols));
    };
    return out;
  }
  Tensor out = make_tensor(t.name, t.axes, shape);
  out.boolean = t.boolean;
  std::vector<std::size_t> index(t.rank(), 0);
  for (std::size_t n = 0; n < out.data.size(); ++n) {
    std::size_t rest = n;
    for (std::size_t a = t.rank(); a-- > 0;) {
      index[a] = rest % shape[a];
      rest /= shape[a];
    }
    out.data[n] = t.data[flat(source(index), t.shape, t.rank())];
  }
  return out;
}

}  // namespace attn_trace
