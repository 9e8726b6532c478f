// The bundled examples (data/examples/*.json), compiled into the binary at build time.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace attn_trace {

struct EmbeddedExample {
  std::string_view name;  // file name without .json
  std::string_view json;  // the file's contents
};

[[nodiscard]] std::span<const EmbeddedExample> embedded_examples();

// The example that `attn-trace run` traces when given no file.
inline constexpr std::string_view default_example = "i-am-good";

// The example called `name`, or nothing.
[[nodiscard]] std::optional<EmbeddedExample> find_example(std::string_view name);

}  // namespace attn_trace
