// Building a trace's tensors block by block (layout.hpp).
#include "layout.hpp"

#include <exception>
#include <numeric>

#include <fmt/format.h>

#include "attn_trace/core/text.hpp"

namespace attn_trace {

Sizes Sizes::of(const Spec& spec) {
  return {.B = spec.batch_size(),
          .L = spec.q_len(),
          .S_given = spec.kv_len(),
          .S = spec.kv_len() + spec.extra_keys(),
          .E = spec.embed_dim(),
          .D = spec.model_dim(),
          .H = spec.num_heads,
          .d = spec.head_dim(),
          .batched = spec.batched};
}

Tensor Layout::per_batch(std::string name, std::vector<Axis> axes, std::vector<std::size_t> dims,
                         const std::function<Matrix(Index b)>& block) const {
  Tensor t = make(std::move(name), false, std::move(axes), std::move(dims));
  for (Index b = 0; b < n.B; ++b) t.set_block(count(b), block(b));
  return t;
}

Tensor Layout::per_head(std::string name, std::vector<Axis> axes, std::vector<std::size_t> dims,
                        const std::function<Matrix(Index b, Index h)>& block) const {
  Tensor t = make(std::move(name), true, std::move(axes), std::move(dims));
  // The heads are independent: compute them on every core. An exception (out of memory) must
  // not leave the parallel loop, so it is carried out and rethrown.
  const Index blocks = n.B * heads_;
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic)
  for (Index k = 0; k < blocks; ++k) {
    try {
      t.set_block(count(k), block(k / heads_, k % heads_));
    } catch (...) {
#pragma omp critical
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return t;
}

Tensor Layout::per_query(std::string name, std::vector<Axis> axes, std::vector<std::size_t> dims,
                         std::size_t max_stored,
                         std::function<Matrix(Index b, Index h, Index i)> block) const {
  const Index queries = static_cast<Index>(dims.front());
  lead(true, axes, dims);
  const std::size_t size =
      std::accumulate(dims.begin(), dims.end(), std::size_t{1}, std::multiplies<>());
  if (size > max_stored) {
    return make_generated_tensor(
        std::move(name), std::move(axes), std::move(dims),
        [block = std::move(block), queries, heads = heads_](std::size_t k) {
          const Index flat = static_cast<Index>(k);
          const Index i = flat % queries, head = flat / queries % heads;
          return block(flat / queries / heads, head, i);
        });
  }
  Tensor t = make_tensor(std::move(name), std::move(axes), std::move(dims));
  for (Index b = 0; b < n.B; ++b) {
    for (Index h = 0; h < heads_; ++h) {
      for (Index i = 0; i < queries; ++i) {
        t.set_block(head_block(b, h) * count(queries) + count(i), block(b, h, i));
      }
    }
  }
  return t;
}

std::string Layout::repeat(const Tensor& t, bool per_head) const {
  std::vector<std::string> over;
  if (n.batched) over.push_back(plural(n.B, "batch", "batches"));
  if (per_head && heads_ > 1) over.push_back(plural(heads_, "head", "heads"));
  if (over.empty()) return "";
  return fmt::format(", for each of {} → {}", fmt::join(over, " × "), dims_text(t.shape));
}

void Layout::lead(bool per_head, std::vector<Axis>& axes, std::vector<std::size_t>& dims) const {
  if (per_head && heads_ > 1) {
    axes.insert(axes.begin(), Axis::head);
    dims.insert(dims.begin(), count(heads_));
  }
  if (n.batched) {
    axes.insert(axes.begin(), Axis::batch);
    dims.insert(dims.begin(), count(n.B));
  }
}

Tensor Layout::shaped(std::string name, bool per_head, std::vector<Axis> axes,
                      std::vector<std::size_t> dims) const {
  lead(per_head, axes, dims);
  return Tensor{std::move(name), std::move(axes), std::move(dims), {}, {}};
}

Tensor Layout::make(std::string name, bool per_head, std::vector<Axis> axes,
                    std::vector<std::size_t> dims) const {
  lead(per_head, axes, dims);
  return make_tensor(std::move(name), std::move(axes), std::move(dims));
}

}  // namespace attn_trace
