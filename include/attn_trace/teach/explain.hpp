// Explain one number of a trace: the arithmetic behind it, with the actual numbers, as the
// tutorials write it by hand ("0.2×0.5 + 0.1×(−0.3) + 0.1 = 0.17"). `attn-trace explain CELL`.
//
// An explanation is data (core/explanation.hpp: a formula, the terms and how they combine);
// render/explanation.hpp turns it into text or JSON. It is computed from the spec's weights and the
// trace's own tensors, then checked against the number the trace holds.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/explanation.hpp"
#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

// A cell as the user names it: "scores[0,2]", "weights[am,good]", "split_heads.Q[1,0,1]".
struct CellRef {
  std::string stage;               // empty when not given
  std::string tensor;              // "Q", "scores", …
  std::vector<std::string> index;  // as typed: whole numbers, or token names on token axes
};

// Parses CELL; throws Error when it is not of the form [STAGE.]TENSOR[I,J,…].
[[nodiscard]] CellRef parse_cell(std::string_view text);

// The arithmetic behind `cell` of `trace`, which was traced from `spec`. Throws Error for an
// unknown tensor (listing the valid names), a wrong number of indices, or an index out of range
// (giving the valid range and tokens).
[[nodiscard]] Explanation explain(const Spec& spec, const Trace& trace, const CellRef& cell);

}  // namespace attn_trace
