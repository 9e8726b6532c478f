// Stage lookup and the list of stage ids.
#include "attn_trace/core/trace.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace attn_trace {

const Stage* Trace::find_stage(std::string_view id) const {
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

std::span<const std::string_view> stage_ids() {
  static constexpr std::array<std::string_view, 12> ids = {
      "input",   "projections", "extra_keys",      "split_heads", "scores",      "scaling",
      "masking", "softmax",     "weighted_values", "summation",   "merge_heads", "out_proj"};
  return ids;
}

std::optional<std::string> left_out(const Stage& stage, const Tensor& tensor,
                                    std::size_t weighted_limit) {
  if (stage.id != "weighted_values" || tensor.size() <= weighted_limit) return std::nullopt;
  return fmt::format(
      "{} holds {} numbers, more than the limit of {}, so it is left out; run with "
      "--weighted-limit {} to include it (a large one is computed while being written, never "
      "held in memory whole). The summation stage shows what it adds up to.",
      tensor.name, tensor.size(), weighted_limit, tensor.size());
}

std::size_t paper_position(std::string_view id) {
  const auto ids = stage_ids();
  return static_cast<std::size_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
}

}  // namespace attn_trace
