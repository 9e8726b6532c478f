// Stage lookup and the list of stage ids.
#include "attn_trace/trace.hpp"

#include <array>

namespace attn_trace {

const Stage* Trace::find_stage(std::string_view id) const {
  for (const Stage& stage : stages) {
    if (stage.id == id) return &stage;
  }
  return nullptr;
}

std::span<const std::string_view> stage_ids() {
  static constexpr std::array<std::string_view, 10> ids = {
      "input",   "projections",     "split_heads", "scores",      "scaling",
      "softmax", "weighted_values", "summation",   "merge_heads", "out_proj"};
  return ids;
}

}  // namespace attn_trace
