// Building a trace's tensors block by block (layout.hpp).
#include "layout.hpp"

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

}  // namespace attn_trace
