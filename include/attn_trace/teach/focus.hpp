// Focus: the trace cut to one batch, one head and/or one query token (run --focus), so that a
// class can follow one slice through every stage. Keys are never cut: every key still counts for
// the focused query, and the key and value rows are what it attends over.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "attn_trace/core/plan.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

// What the user asked for, as typed: "head=1,query=am,batch=0" (any subset, any order).
struct FocusRequest {
  std::optional<std::string> batch, head, query;
};

// Parses a --focus value. Throws Error (a usage mistake) for an unknown or repeated key, a part
// without '=', or an empty value.
[[nodiscard]] FocusRequest parse_focus(std::string_view text);

// The slice `request` names, as positions in the whole trace, resolved against `trace`'s sizes
// and tokens (its header is enough: core/tracer.hpp's trace_header). Throws Error, naming
// `source`, for an index out of range or an unknown or repeated token.
[[nodiscard]] TraceSlice resolve_focus(const Trace& trace, const FocusRequest& request,
                                       std::string_view source);

// The trace with every tensor cut to the requested slice: each cut axis keeps its place with size
// 1, the token lists keep the focused batch and query, and Trace::focus records what was kept.
// A query is a position (a number is read as one first) or a token; head and batch take numbers.
// Throws Error, naming `source`, for an index out of range or an unknown or repeated token.
[[nodiscard]] Trace focus_trace(const Trace& trace, const FocusRequest& request,
                                std::string_view source);

}  // namespace attn_trace
