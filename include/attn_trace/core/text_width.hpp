// How many terminal columns a UTF-8 string takes: tokens may be Chinese or Korean, whose
// characters take two columns each.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace attn_trace {

[[nodiscard]] std::size_t display_width(std::string_view utf8);

// The length of the well-formed UTF-8 sequence that starts at text[at] (1 to 4), or 0 when it is
// not one: a stray continuation byte, a sequence cut short, an overlong form, a surrogate, or a
// code point beyond U+10FFFF (RFC 3629).
[[nodiscard]] std::size_t utf8_length(std::string_view text, std::size_t at);

// `utf8` cut to at most `columns` columns, ending in "…" when it was cut.
[[nodiscard]] std::string truncate_to_width(std::string_view utf8, std::size_t columns);

// `text` safe to print on one terminal line: control characters (newlines, tabs, escape sequences,
// C1 controls) and invisible direction or line-separator marks become spaces; invalid UTF-8
// bytes become '?'.
[[nodiscard]] std::string printable(std::string_view text);

// Text a user wrote, safe and short enough to show on one line of a message or a table: printable
// (as printable() makes it), cut to at most `columns` columns. A key of 100 000 characters, or one
// holding terminal escapes, must not flood or garble the terminal.
[[nodiscard]] std::string excerpt(std::string_view text, std::size_t columns);

}  // namespace attn_trace
