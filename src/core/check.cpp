// The one rule for two numbers agreeing (check.hpp), shared by `check` and published values.
#include "attn_trace/core/check.hpp"

#include <cmath>

namespace attn_trace {

bool agree(double yours, double expected, const Tolerance& tolerance) {
  if (std::isnan(yours) || std::isnan(expected)) return std::isnan(yours) && std::isnan(expected);
  if (std::isinf(yours) || std::isinf(expected)) return yours == expected;
  return std::abs(yours - expected) <= tolerance.atol + tolerance.rtol * std::abs(expected);
}

}  // namespace attn_trace
