// The driver: runs the stages of stages.hpp in paper order and records each result.
#pragma once

#include "attn_trace/core/plan.hpp"
#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

// Returns the full trace of attention over `spec`: self-attention, or cross-attention when the
// spec's keys and values come from inputs of their own (KeySource), every stage in paper order.
// REQUIRES: spec came from load_spec (valid: every shape checked there).
[[nodiscard]] Trace trace_attention(const Spec& spec);

// The trace's header alone: names, sizes, tokens, notes; no stage computed.
[[nodiscard]] Trace trace_header(const Spec& spec);

// The trace as `plan` computes it: only the stages it shows and those they need, cut to its
// focus, long tensors held in the rows a summarising walkthrough shows. Its stages are the whole
// trace's, in order and with the same words; a stage not shown has no tensors. Every number it
// holds equals the whole trace's.
[[nodiscard]] Trace trace_attention(const Spec& spec, const TracePlan& plan);

}  // namespace attn_trace
