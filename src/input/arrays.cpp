// Arrays from binary files as nested JSON arrays (arrays.hpp).
#include "arrays.hpp"

#include <cassert>
#include <functional>
#include <numeric>

namespace attn_trace::loader {

json nested_json(std::span<const std::size_t> shape, std::span<const double> values) {
  if (shape.empty()) {
    assert(values.size() == 1);
    return values.front();
  }
  // The values of one element of the outer axis: the product of the axes inside it.
  const std::size_t inner = std::accumulate(shape.begin() + 1, shape.end(), std::size_t{1},
                                            std::multiplies<std::size_t>());
  assert(values.size() == shape.front() * inner);
  json array = json::array();
  array.get_ref<json::array_t&>().reserve(shape.front());
  for (std::size_t i = 0; i < shape.front(); ++i) {
    array.push_back(nested_json(shape.subspan(1), values.subspan(i * inner, inner)));
  }
  return array;
}

}  // namespace attn_trace::loader
