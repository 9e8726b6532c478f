// "Did you mean …?": the known word nearest to a mistyped one, for keys, stage names and flags.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace attn_trace {

// The candidate closest to `typed` (edit distance, ignoring case), if it is close enough to be a
// plausible typo: at most 2 edits, or a third of the typed length for longer words.
[[nodiscard]] std::optional<std::string_view> nearest(std::string_view typed,
                                                      std::span<const std::string_view> candidates);

// The flag a mistyped one most likely meant, written as the user should type it instead: `--head`
// → "--heads", `--head=4` → "--heads=4", `-heads` → "--heads". `flags` are long flags with their
// dashes ("--heads"); they are compared without them, so the dashes count as no edits. None when no
// flag is close (as `nearest` judges it).
[[nodiscard]] std::optional<std::string> nearest_flag(std::string_view typed,
                                                      std::span<const std::string_view> flags);

}  // namespace attn_trace
