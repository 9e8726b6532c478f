// Reading a position by number or token (positions.hpp).
#include "positions.hpp"

#include <charconv>

#include <fmt/format.h>

#include "attn_trace/core/text_width.hpp"

namespace attn_trace {

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

std::optional<std::size_t> position_number(std::string_view typed) {
  const std::string text = trim(typed);
  std::size_t v = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::vector<std::size_t> token_positions(const std::vector<std::string>& tokens,
                                         std::string_view typed) {
  std::vector<std::size_t> at;
  for (const std::string& name : {std::string(typed), trim(typed)}) {
    for (std::size_t k = 0; k < tokens.size(); ++k) {
      if (tokens[k] == name) at.push_back(k);
    }
    if (!at.empty()) break;
  }
  return at;
}

std::string valid_positions(std::size_t size, const std::vector<std::string>* tokens,
                            std::string_view separator, std::size_t columns) {
  std::string text =
      size == 1 ? "the only valid one is 0" : fmt::format("valid are 0 to {}", size - 1);
  if (tokens && size <= 12) {
    std::vector<std::string> labels;
    for (const std::string& token : *tokens) {
      labels.push_back(excerpt(token, columns));
    }
    text += fmt::format(" ({})", fmt::join(labels, separator));
  }
  return text;
}

}  // namespace attn_trace
