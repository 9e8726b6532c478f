// Which of the trace's tensors a learner's array stands for: by the trace's own name ("weights",
// "split_heads.Q"), or by a name learners use ("attn_weights", "p_attn", "q"), and in which
// shape. Private to teach; the table is public through teach/check.hpp for the docs.
#pragma once

#include <string>
#include <vector>

#include "attn_trace/core/check.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

// A learner's array, found in the trace.
struct ResolvedTensor {
  const GivenTensor* given = nullptr;
  const Stage* stage = nullptr;
  const Tensor* tensor = nullptr;                 // held, not generated
  std::size_t stage_index = 0, tensor_index = 0;  // where the trace has it: the report's order
};

// Each array of `given`, found in `trace`, in the trace's order (paper order). Throws Error naming
// given.file and the array's name for a name that is no tensor of the trace (with the nearest
// one), a tensor this trace has not got (and why), a shape that is not the tensor's (with axes of
// size 1 added or left out; a transposed one says so), a tensor too large to hold, or one tensor
// given twice.
[[nodiscard]] std::vector<ResolvedTensor> resolve_given(const GivenTensors& given,
                                                        const Trace& trace);

}  // namespace attn_trace
