// Loading: JSON text → Spec, with every check done here, once. Each failure throws Error with a
// message of the form
//   FILE: JSON.PATH: expected <what>, found <what>
// (or FILE:LINE:COL: <what> for text that is not JSON at all). Nothing after loading re-checks.
// The input format is documented in docs/input-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "attn_trace/spec.hpp"

namespace attn_trace {

// Parses and validates one input document. `file` names it in messages ("ex.json", "<stdin>",
// "example i-am-good").
[[nodiscard]] Spec load_spec(std::string_view text, const std::string& file);

// Reads FILE (or standard input for "-") and loads it. Throws Error when it cannot be read, or
// when it is larger than `max_bytes` (checked before reading a file, while reading a pipe).
[[nodiscard]] Spec load_spec_file(const std::string& path, std::uint64_t max_bytes = UINT64_MAX);

}  // namespace attn_trace
