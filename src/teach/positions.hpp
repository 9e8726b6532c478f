// A query or key position as a learner names it: by number ("2", as the tables number rows) or by
// token ("am"). Private to teach: explain's CELL and --focus both read positions this way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn_trace {

// `text` without the spaces and tabs around it.
[[nodiscard]] std::string trim(std::string_view text);

// The position `typed` spells as a whole number (spaces around it allowed), or nothing: a number
// is read as a position first, even when some token is spelled the same.
[[nodiscard]] std::optional<std::size_t> position_number(std::string_view typed);

// Every position where `typed` stands among `tokens`: as typed, or else without the spaces around
// it (a token may begin with a space, as BPE tokens do). Empty when it is none of them.
[[nodiscard]] std::vector<std::size_t> token_positions(const std::vector<std::string>& tokens,
                                                       std::string_view typed);

// The positions an axis of `size` takes, for a message: "the only valid one is 0", or "valid are 0
// to 2", then "(I, am, good)" with the axis's tokens when there are at most 12, each cut to
// `columns` and joined by `separator`.
[[nodiscard]] std::string valid_positions(std::size_t size, const std::vector<std::string>* tokens,
                                          std::string_view separator, std::size_t columns);

}  // namespace attn_trace
