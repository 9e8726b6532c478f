// The bundled examples (data/examples/*.json), compiled into the binary at build time.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace attn_trace {

struct EmbeddedExample {
  std::string_view name;  // file name without .json
  std::string_view json;  // the file's contents
};

[[nodiscard]] std::span<const EmbeddedExample> embedded_examples();

// Their names, in the same order (for "did you mean" and lists of valid names).
[[nodiscard]] std::vector<std::string_view> example_names();

// The example that `attn-trace run` traces when given no file.
inline constexpr std::string_view default_example = "i-am-good";

// The example called `name`, or nothing.
[[nodiscard]] std::optional<EmbeddedExample> find_example(std::string_view name);

}  // namespace attn_trace
