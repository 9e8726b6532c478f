// The one way a message about an input is built. Every failure to read or load an input file
// throws Error through one of three functions, one per form of message:
//   fail_file    FILE: what                  the file as a whole (cannot be read, not text, empty)
//   fail_value   FILE: JSON.PATH: what       one value of the document (a shape, a key, a count)
//   fail_at      FILE:LINE:COL: what         a position in the text (it is not JSON)
//                  <the line>
//                  <a caret under the column>
// so that the file's name, the path or position, and the hint are put together here alone, and
// every message names the file first.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "attn_trace/core/text_width.hpp"

namespace attn_trace::loader {

// Throws Error("FILE: what", hint).
[[noreturn]] void fail_file(std::string_view file, std::string_view what, std::string hint = {});

// Throws Error("FILE: PATH: what", hint). `path` is where the value stands in the document
// ("weights.W_q", "mask[1][2]", "(top level)"), or the flag that gave it ("--heads").
[[noreturn]] void fail_value(std::string_view file, std::string_view path, std::string_view what,
                             std::string hint = {});

// Throws Error("FILE:LINE:COL: what", hint), the message followed by the line of `text` that holds
// byte `offset` and a caret under it. A long line (a state_dict dumped on one line is megabytes)
// is shown around the column only. REQUIRES: offset <= text.size().
[[noreturn]] void fail_at(std::string_view text, std::string_view file, std::size_t offset,
                          std::string_view what, std::string hint = {});

// Text from the input quoted in a message: core's excerpt, cut to 60 columns.
[[nodiscard]] inline std::string excerpt(std::string_view text, std::size_t columns = 60) {
  return attn_trace::excerpt(text, columns);
}

// How to make a weights file, for messages about one that is not.
inline constexpr const char* state_dict_hint =
    "dump a module's weights with json.dump({k: v.tolist() for k, v in "
    "model.state_dict().items()}, f)";

}  // namespace attn_trace::loader
