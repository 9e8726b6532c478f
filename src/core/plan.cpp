// What a plan computes (plan.hpp).
#include "attn_trace/core/plan.hpp"

#include <algorithm>

namespace attn_trace {
namespace {

// Whether the spec has this stage at all.
bool has_stage(const Spec& spec, StageId id) {
  switch (id) {
    case StageId::extra_keys:
      return spec.extra_keys() > 0;
    case StageId::split_heads:
    case StageId::merge_heads:
      return spec.num_heads > 1;
    case StageId::masking:
      return spec.masks.any();
    case StageId::out_proj:
      return spec.out_proj.has_value();
    default:
      return true;
  }
}

}  // namespace

std::vector<StageId> stages_computed(const Spec& spec, const TracePlan& plan) {
  // The last stage shown: every stage before it that feeds it is computed too.
  std::optional<StageId> last;
  for (const StageInfo& info : all_stages()) {
    if (has_stage(spec, info.id) && plan.shown.shows(info.id)) last = info.id;
  }
  std::vector<StageId> out;
  if (!last) return out;
  for (const StageInfo& info : all_stages()) {
    const StageId id = info.id;
    if (id > *last || !has_stage(spec, id)) continue;
    // Nothing is computed from the input stage (the projections read the spec) or from
    // weighted_values (the summation computes weights·V in one product): only shown, they are
    // computed.
    const bool feeds_others = id != StageId::input && id != StageId::weighted_values;
    if (plan.shown.shows(id) || feeds_others) out.push_back(id);
  }
  return out;
}

std::optional<std::vector<std::size_t>> held_rows(const TracePlan& plan, std::size_t size,
                                                  std::size_t rows) {
  if (!plan.summarising) return std::nullopt;
  const Summarising& s = *plan.summarising;
  if (size <= s.threshold || rows <= std::max(2 * s.edge, s.summary_queries)) return std::nullopt;
  std::vector<std::size_t> held;
  for (std::size_t i = 0; i < s.edge; ++i) held.push_back(i);
  for (std::size_t i = rows - s.edge; i < rows; ++i) held.push_back(i);
  return held;
}

}  // namespace attn_trace
