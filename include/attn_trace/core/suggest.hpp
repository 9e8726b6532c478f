// "Did you mean …?": the known word nearest to a mistyped one, for keys and stage names.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace attn_trace {

// The candidate closest to `typed` (edit distance, ignoring case), if it is close enough to be a
// plausible typo: at most 2 edits, or a third of the typed length for longer words.
[[nodiscard]] std::optional<std::string_view> nearest(std::string_view typed,
                                                      std::span<const std::string_view> candidates);

}  // namespace attn_trace
