// Arrays read from binary files (NumPy's .npy and .npz, safetensors) as the JSON document the
// loader reads: the nested lists an input file writes by hand, so that a binary file and a JSON
// file go through the same checks (json_values.hpp) and give the same messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "json_document.hpp"

namespace attn_trace::loader {

// `leaves`, in row-major (C) order, as nested lists of `shape`: shape (2, 3) gives
// [[l0, l1, l2], [l3, l4, l5]]; an empty shape gives the single leaf itself.
// REQUIRES: leaves.size() is the product of `shape` (1 for an empty shape).
[[nodiscard]] json nested_json(std::span<const std::size_t> shape, std::vector<json> leaves);

// The same, for leaves that are all numbers.
[[nodiscard]] json nested_json(std::span<const std::size_t> shape, std::span<const double> values);

// A value of F16 (IEEE 754 binary16: NumPy's float16, safetensors' F16) or BF16 (the upper half of
// a binary32), exactly as double: subnormals, ±0, ±inf and nan included.
[[nodiscard]] double f16_to_double(std::uint16_t bits);
[[nodiscard]] double bf16_to_double(std::uint16_t bits);

}  // namespace attn_trace::loader
