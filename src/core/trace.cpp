// Finding a stage, and what a renderer leaves out.
#include "attn_trace/core/trace.hpp"

#include <fmt/format.h>

namespace attn_trace {

const Stage* Trace::find_stage(StageId id) const {
  for (const Stage& stage : stages) {
    if (stage.id == id) return &stage;
  }
  return nullptr;
}

std::size_t Trace::whole_index(Axis axis, std::size_t i) const {
  if (!focus) return i;
  if (axis == Axis::batch && focus->batch) return *focus->batch;
  if (axis == Axis::head && focus->head) return *focus->head;
  if (axis == Axis::query && focus->query) return *focus->query;
  return i;
}

std::optional<std::string> left_out(const Stage& stage, const Tensor& tensor,
                                    std::size_t weighted_limit) {
  if (stage.id != StageId::weighted_values || tensor.size() <= weighted_limit) return std::nullopt;
  return fmt::format(
      "{} holds {} numbers, more than the limit of {}, so it is left out; run with "
      "--weighted-limit {} to include it (a large one is computed while being written, never "
      "held in memory whole). The summation stage shows what it adds up to.",
      tensor.name, tensor.size(), weighted_limit, tensor.size());
}

}  // namespace attn_trace
