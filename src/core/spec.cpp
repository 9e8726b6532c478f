// Derived quantities of a Spec.
#include "attn_trace/core/spec.hpp"

#include <cmath>

namespace attn_trace {

Index Spec::model_dim() const {
  return q_proj ? q_proj->weight.rows() : embed_dim();
}

double Spec::scale() const {
  switch (scale_rule) {
    case ScaleRule::head_dim:
      return 1.0 / std::sqrt(static_cast<double>(head_dim()));
    case ScaleRule::embed_dim:
      return 1.0 / std::sqrt(static_cast<double>(embed_dim()));
    case ScaleRule::none:
      return 1.0;
    case ScaleRule::custom:
      return custom_scale;
  }
  return 1.0;
}

std::vector<Index> head_counts(Index width) {
  std::vector<Index> counts;
  for (Index h = 1; h <= width; ++h) {
    if (width % h == 0) counts.push_back(h);
  }
  return counts;
}

std::string_view scale_rule_name(ScaleRule rule) {
  switch (rule) {
    case ScaleRule::head_dim:
      return "head_dim";
    case ScaleRule::embed_dim:
      return "embed_dim";
    case ScaleRule::none:
      return "none";
    case ScaleRule::custom:
      return "custom";
  }
  return "?";
}

std::string_view key_source_name(KeySource source) {
  switch (source) {
    case KeySource::self:
      return "self";
    case KeySource::kv_input:
      return "kv_input";
    case KeySource::separate:
      return "separate";
  }
  return "?";
}

std::string_view weight_layout_name(WeightLayout layout) {
  return layout == WeightLayout::torch ? "torch" : "math";
}

}  // namespace attn_trace
