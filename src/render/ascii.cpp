// to_ascii (ascii.hpp): a table of the symbols the walkthrough prints, and two that depend on what
// surrounds them (· and √).
#include "attn_trace/render/ascii.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "attn_trace/core/text_width.hpp"

namespace attn_trace {

std::string to_ascii(std::string_view text) {
  // "−∞" before "−" and "∞": the longest spelling wins.
  static constexpr std::pair<std::string_view, std::string_view> symbols[] = {
      {"−∞", "-inf"}, {"━", "="}, {"ᵀ", "^T"},  {"×", "x"},  {"Σ", "sum"}, {"∞", "inf"},
      {"−", "-"},     {"–", "-"}, {"→", "->"},  {"←", "<-"}, {"✓", "OK"},  {"✗", "X"},
      {"…", "..."},   {"⋮", ":"}, {"⊙", "(*)"}, {"≤", "<="}, {"≥", ">="},  {"≠", "!="},
      {"²", "^2"},    {"’", "'"}, {"“", "\""},  {"”", "\""}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[at]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++at;
      continue;
    }
    const std::string_view rest = text.substr(at);
    if (rest.starts_with("·")) {  // " · " separates, "Q·K" multiplies
      const bool separator = out.ends_with(' ') && rest.substr(2).starts_with(' ');
      out += separator ? '|' : '*';
      at += 2;
      continue;
    }
    if (rest.starts_with("√")) {  // √d → sqrt(d)
      std::size_t end = 3;
      while (end < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[end])) ||
                                   rest[end] == '.' || rest[end] == '_')) {
        ++end;
      }
      out += end > 3 ? "sqrt(" + std::string(rest.substr(3, end - 3)) + ")" : "sqrt";
      at += end;
      continue;
    }
    bool replaced = false;
    for (const auto& [symbol, ascii] : symbols) {
      if (rest.starts_with(symbol)) {
        out += ascii;
        at += symbol.size();
        replaced = true;
        break;
      }
    }
    if (replaced) continue;
    out += '?';
    at += std::max<std::size_t>(utf8_length(text, at), 1);
  }
  return out;
}

}  // namespace attn_trace
