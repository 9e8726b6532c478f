// The driver: runs the stages of stages.hpp in paper order and records each result.
#pragma once

#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

// Returns the full trace of self-attention over spec. REQUIRES: spec came from load_spec (valid).
[[nodiscard]] Trace trace_attention(const Spec& spec);

}  // namespace attn_trace
