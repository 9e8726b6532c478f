// The driver: runs the stages of stages.hpp in paper order and records each result.
#pragma once

#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

// Returns the full trace of attention over `spec`: self-attention, or cross-attention when the
// spec's keys and values come from inputs of their own (KeySource), every stage in paper order.
// REQUIRES: spec came from load_spec (valid: every shape checked there).
[[nodiscard]] Trace trace_attention(const Spec& spec);

}  // namespace attn_trace
