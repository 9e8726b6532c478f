// Flat leaves → nested lists, and half-precision floats → double (arrays.hpp).
#include "arrays.hpp"

#include <bit>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

namespace attn_trace::loader {

json nested_json(std::span<const std::size_t> shape, std::vector<json> leaves) {
  assert(leaves.size() ==
         std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>()));
  if (shape.empty()) return std::move(leaves.front());
  // Build from the innermost axis out: each pass groups the previous pass's elements by that
  // axis's length, so every leaf is moved once per axis and never copied.
  std::vector<json> level = std::move(leaves);
  for (std::size_t axis = shape.size(); axis-- > 1;) {
    const std::size_t length = shape[axis];
    const std::size_t groups =
        std::accumulate(shape.begin(), shape.begin() + axis, std::size_t{1}, std::multiplies<>());
    std::vector<json> grouped(groups, json::array());
    for (std::size_t g = 0; g < groups; ++g) {
      for (std::size_t i = 0; i < length; ++i) {
        grouped[g].push_back(std::move(level[g * length + i]));
      }
    }
    level = std::move(grouped);
  }
  json outer = json::array();
  for (json& element : level) outer.push_back(std::move(element));
  return outer;
}

json nested_json(std::span<const std::size_t> shape, std::span<const double> values) {
  return nested_json(shape, std::vector<json>(values.begin(), values.end()));
}

double f16_to_double(std::uint16_t bits) {
  // sign (1 bit), exponent (5 bits, bias 15), fraction (10 bits)
  const unsigned exponent = (bits >> 10) & 0x1F;
  const unsigned fraction = bits & 0x3FF;
  double magnitude = 0;
  if (exponent == 0) {
    magnitude = std::ldexp(fraction, -24);  // subnormal: fraction × 2^(1 − 15 − 10); ±0
  } else if (exponent == 0x1F) {
    magnitude = fraction == 0 ? std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::quiet_NaN();
  } else {
    magnitude = std::ldexp(fraction + 1024, static_cast<int>(exponent) - 25);
  }
  return (bits & 0x8000) != 0 ? -magnitude : magnitude;
}

double bf16_to_double(std::uint16_t bits) {
  // BF16 is a float32 with the lower 16 bits of its fraction cut off.
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

}  // namespace attn_trace::loader
