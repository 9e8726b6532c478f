// The two renderers of a check report (core/check.hpp): a short text for the learner — every
// tensor with ✓ or ✗, the first difference's worst cells by token, and the mistake behind it —
// and JSON for autograders (docs/check.md; its schema is docs/check.schema.json).
#pragma once

#include <ostream>
#include <string>

#include "attn_trace/core/check.hpp"

namespace attn_trace {

struct CheckTextOptions {
  int precision = 4;  // decimals of the numbers shown
  // The arguments that name the input on the command line ("karim", "ex.json --heads 2"), for the
  // `attn-trace explain` command the report suggests (empty: the default example).
  std::string input_args = {};
};

void render_check_text(const CheckReport& report, const CheckTextOptions& options,
                       std::ostream& out);

// The format's name, "attn-trace check v1": a reader can rely on every field docs/check.md lists.
inline constexpr const char* check_format = "attn-trace check v1";

void render_check_json(const CheckReport& report, std::ostream& out);

// "query \"cat\" (1), key \"sat\" (2)": a cell's position along each axis, with its token.
[[nodiscard]] std::string cell_labels(const CheckReport& report, const TensorCheck& tensor,
                                      const std::vector<std::size_t>& index);

}  // namespace attn_trace
