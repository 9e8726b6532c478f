// Flat leaves → nested lists (arrays.hpp).
#include "arrays.hpp"

#include <cassert>
#include <functional>
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

}  // namespace attn_trace::loader
