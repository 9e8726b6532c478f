// The words and numbers every room writes the same way, each in one place: a count with its noun,
// a shape, a number that is not finite, the scale rule. (Text width and printable text are in
// text_width.hpp.)
#pragma once

#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "attn_trace/core/spec.hpp"

namespace attn_trace {

// "head" for 1, "heads" otherwise.
template <std::integral N>
[[nodiscard]] std::string_view noun(N n, std::string_view one, std::string_view many) {
  return n == 1 ? one : many;
}

// "1 head", "3 heads".
template <std::integral N>
[[nodiscard]] std::string plural(N n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(noun(n, one, many));
}

// "(3×2)": a shape as the shape algebra writes it ("(3×2)·(2×3) → (3×3)").
[[nodiscard]] std::string dims_text(std::span<const std::size_t> dims);
[[nodiscard]] std::string dims_text(std::initializer_list<Index> dims);

// "(3, 2)": a shape as PyTorch prints one, in messages about an input and its expected shapes.
[[nodiscard]] std::string shape_text(std::span<const std::size_t> dims);
[[nodiscard]] std::string shape_text(std::initializer_list<Index> dims);

// The name of the input a projection reads, as formulas write it: "X" for Q, and for K and V "X"
// in self-attention, "X_kv" with kv_input, "X_k" and "X_v" with key_input and value_input.
// REQUIRES: `projection` is 'Q', 'K' or 'V'.
[[nodiscard]] std::string_view source_name(KeySource source, char projection);

// How a number that is not finite is written: "−∞", "∞", "nan" for a reader (the walkthrough,
// explain); "-inf", "inf", "nan" in JSON, which has no such numbers (they go as strings); or
// "-Infinity", "Infinity", "NaN" as Python's json.dump writes them and an input file may hold
// them, for messages that quote an input.
enum class Spelling { symbols, json, python };
[[nodiscard]] std::optional<std::string_view> non_finite_text(
    double value, Spelling spelling = Spelling::symbols);

// The scale rule as a formula writes it: "1/√d", "1/√E", "1"; empty for a custom multiplier.
[[nodiscard]] std::string_view scale_rule_symbol(ScaleRule rule);
// The same with the number in: "1/√2" for d = 2; empty for a custom multiplier.
[[nodiscard]] std::string scale_rule_value(ScaleRule rule, Index head_dim, Index embed_dim);

}  // namespace attn_trace
