// The walkthrough in plain ASCII, for old terminals and screen readers (run --ascii): the one
// conversion of its symbols, used on the tables cell by cell and on everything else line by line.
#pragma once

#include <string>
#include <string_view>

namespace attn_trace {

// Returns `text` in plain ASCII: the walkthrough's symbols spelled out (━ =, · * or | between
// spaces, ᵀ ^T, √d sqrt(d), × x, Σ sum, −∞ -inf, → ->, ✓ OK, … ...), and any other non-ASCII
// character, in a token say, as one '?'. REQUIRES nothing of `text`: invalid UTF-8 becomes '?'.
[[nodiscard]] std::string to_ascii(std::string_view text);

}  // namespace attn_trace
