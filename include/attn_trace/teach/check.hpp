// `attn-trace check`: a learner's own tensors against the trace. Each tensor they gave is compared
// with the trace's; the first that differs is the one to look at, later ones that are right given
// the learner's own earlier tensors follow from it, and each classic mistake of the catalogue
// (docs/check.md) is run from the trace's correct tensors to see which reproduces the learner's
// numbers exactly.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/check.hpp"
#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

struct CheckOptions {
  Tolerance tolerance = {};
  std::string input = {};  // what messages call the trace's input: "ex.json", "example karim"
};

// Compares `given` with `trace`, which trace_attention computed from `spec`. Throws Error (see
// resolve_given in given_names.hpp) for a name or shape that is none of the trace's.
[[nodiscard]] CheckReport check_tensors(const Spec& spec, const Trace& trace,
                                        const GivenTensors& given, const CheckOptions& options);

// A name learners give a tensor, and the trace's name for it: {"attn_weights", "weights"}.
struct GivenAlias {
  std::string_view name;
  std::string_view tensor;  // "Q", or "merge_heads.context" where only one stage's will do
};

// Every name `check` knows besides the trace's own, for docs/check.md and "did you mean".
[[nodiscard]] std::span<const GivenAlias> given_aliases();

// The ids of the catalogue of mistakes, in paper order.
[[nodiscard]] std::vector<std::string_view> mistake_catalogue();

}  // namespace attn_trace
