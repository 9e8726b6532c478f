// How many terminal columns a UTF-8 string takes: tokens may be Chinese or Korean, whose
// characters take two columns each.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace attn_trace {

[[nodiscard]] std::size_t display_width(std::string_view utf8);

// `utf8` cut to at most `columns` columns, ending in "…" when it was cut.
[[nodiscard]] std::string truncate_to_width(std::string_view utf8, std::size_t columns);

}  // namespace attn_trace
