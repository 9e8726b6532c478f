// The explanation's own rules: the names of the ways terms combine, and when a recomputed number
// is the trace's.
#include "attn_trace/core/explanation.hpp"

#include <algorithm>
#include <cmath>

namespace attn_trace {

std::string_view combine_name(Combine combine) {
  switch (combine) {
    case Combine::given:
      return "given";
    case Combine::copy:
      return "copy";
    case Combine::sum:
      return "sum";
    case Combine::product:
      return "product";
    case Combine::ratio:
      return "ratio";
  }
  return "";
}

bool explanation_matches(const Explanation& e) {
  if (std::isnan(e.result) || std::isnan(e.computed)) {
    return std::isnan(e.result) && std::isnan(e.computed);
  }
  if (std::isinf(e.result) || std::isinf(e.computed)) return e.result == e.computed;
  return std::abs(e.computed - e.result) <= 1e-12 * std::max(std::abs(e.result), 1e-300) ||
         std::abs(e.computed - e.result) <= 1e-15;
}

}  // namespace attn_trace
