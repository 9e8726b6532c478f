// Arrays read from binary files (safetensors; NumPy's .npy) turned into the nested JSON arrays the
// loader's typed readers take (json_values.hpp), so that a binary file and a JSON file go through
// the same checks and give the same messages.
#pragma once

#include <cstddef>
#include <span>

#include "json_document.hpp"

namespace attn_trace::loader {

// `values`, row-major, nested as `shape` says: [[1, 2], [3, 4]] for shape (2, 2); a number for
// shape (). REQUIRES: values.size() is the product of shape.
[[nodiscard]] json nested_json(std::span<const std::size_t> shape, std::span<const double> values);

}  // namespace attn_trace::loader
