// The shared words and numbers of text.hpp.
#include "attn_trace/core/text.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace attn_trace {
namespace {

std::vector<std::size_t> sizes(std::initializer_list<Index> dims) {
  std::vector<std::size_t> out;
  for (Index n : dims) out.push_back(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

std::string dims_text(std::span<const std::size_t> dims) {
  return fmt::format("({})", fmt::join(dims, "×"));
}
std::string dims_text(std::initializer_list<Index> dims) {
  return dims_text(sizes(dims));
}

std::string shape_text(std::span<const std::size_t> dims) {
  return fmt::format("({})", fmt::join(dims, ", "));
}
std::string shape_text(std::initializer_list<Index> dims) {
  return shape_text(sizes(dims));
}

std::string_view source_name(KeySource source, char projection) {
  if (projection == 'Q') return "X";
  switch (source) {
    case KeySource::self:
      return "X";
    case KeySource::kv_input:
      return "X_kv";
    case KeySource::separate:
      break;
  }
  return projection == 'K' ? "X_k" : "X_v";
}

std::optional<std::string_view> non_finite_text(double value, Spelling spelling) {
  // Never "-nan": the sign of a nan means nothing.
  if (std::isnan(value)) return spelling == Spelling::python ? "NaN" : "nan";
  if (!std::isinf(value)) return std::nullopt;
  if (spelling == Spelling::json) return value < 0 ? "-inf" : "inf";
  if (spelling == Spelling::python) return value < 0 ? "-Infinity" : "Infinity";
  return value < 0 ? "−∞" : "∞";
}

std::string_view scale_rule_symbol(ScaleRule rule) {
  switch (rule) {
    case ScaleRule::head_dim:
      return "1/√d";
    case ScaleRule::embed_dim:
      return "1/√E";
    case ScaleRule::none:
      return "1";
    case ScaleRule::custom:
      break;
  }
  return "";
}

std::string scale_rule_value(ScaleRule rule, Index head_dim, Index embed_dim) {
  switch (rule) {
    case ScaleRule::head_dim:
      return fmt::format("1/√{}", head_dim);
    case ScaleRule::embed_dim:
      return fmt::format("1/√{}", embed_dim);
    case ScaleRule::none:
      return "1";
    case ScaleRule::custom:
      break;
  }
  return "";
}

}  // namespace attn_trace
