// A cell of a trace, found from what the user typed (explain's CELL): its stage, its tensor, and
// its position along each axis. Private to teach.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/trace.hpp"
#include "attn_trace/teach/explain.hpp"

namespace attn_trace {

struct Cell {
  const Stage* stage = nullptr;
  const Tensor* tensor = nullptr;
  std::vector<std::size_t> index;   // one per axis of `tensor`
  std::vector<std::string> labels;  // per axis: the token, or the number ("1" for head 1)
};

// The cell `ref` names in `trace`. A tensor in several stages (Q of projections and of
// split_heads) is told apart by its number of indices. Throws Error for an unknown stage or
// tensor (with the nearest name and the valid ones), a wrong number of indices, an index out of
// range or an unknown or repeated token (with the valid range and tokens).
[[nodiscard]] Cell locate(const Trace& trace, const CellRef& ref);

// Typed text cut for a message: one line, at most 40 columns.
[[nodiscard]] std::string cut(std::string_view text);

}  // namespace attn_trace
