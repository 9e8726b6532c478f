// Nearest-word suggestions by edit distance.
#include "attn_trace/core/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace attn_trace {
namespace {

// Levenshtein distance, ignoring case.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitution = diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<std::string_view> nearest(std::string_view typed,
                                        std::span<const std::string_view> candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(2, typed.size() / 3) + 1;
  for (std::string_view candidate : candidates) {
    const std::size_t distance = edit_distance(typed, candidate);
    if (distance < best_distance) best_distance = distance, best = candidate;
  }
  return best;
}

std::optional<std::string> nearest_flag(std::string_view typed,
                                        std::span<const std::string_view> flags) {
  const std::size_t equals = typed.find('=');
  const std::string_view value = equals == std::string_view::npos ? "" : typed.substr(equals);
  std::string_view name = typed.substr(0, equals);
  while (name.starts_with('-')) name.remove_prefix(1);
  std::vector<std::string_view> bare_flags;
  for (std::string_view flag : flags) {
    while (flag.starts_with('-')) flag.remove_prefix(1);
    bare_flags.push_back(flag);
  }
  const auto match = nearest(name, bare_flags);
  if (!match) return std::nullopt;
  return "--" + std::string(*match) + std::string(value);
}

}  // namespace attn_trace
