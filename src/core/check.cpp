// The one rule for two numbers agreeing (check.hpp), shared by `check` and published values.
#include "attn_trace/core/check.hpp"

#include <cmath>

#include "attn_trace/core/masks.hpp"

namespace attn_trace {

bool agree(double yours, double expected, const Tolerance& tolerance) {
  if (std::isnan(yours) || std::isnan(expected)) return std::isnan(yours) && std::isnan(expected);
  if (std::isinf(yours) || std::isinf(expected)) return yours == expected;
  return std::abs(yours - expected) <= tolerance.atol + tolerance.rtol * std::abs(expected);
}

Tolerance for_tensor(const Tolerance& tolerance, double rms) {
  return {.rtol = tolerance.rtol, .atol = tolerance.atol + tolerance.rtol * rms};
}

double finite_rms(std::span<const std::span<const double>> parts) {
  double sum = 0;
  std::size_t finite = 0;
  for (std::span<const double> part : parts) {
    for (double x : part) {
      // ±∞, nan, and a mask's −1e9 (plus a score) that stands for −∞: not the size of the
      // numbers.
      if (!std::isfinite(x) || std::abs(x) >= -blocking_threshold / 2) continue;
      sum += x * x;
      ++finite;
    }
  }
  return finite ? std::sqrt(sum / static_cast<double>(finite)) : 0.0;
}

}  // namespace attn_trace
