// Where a trace's input comes from, as a subcommand's flags name it — a file, standard input, a
// bundled example, weights from a file of their own, a head count — and loading it under the
// memory budget. Every subcommand that traces (run, explain) loads its input here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/spec.hpp"

namespace attn_trace {

struct InputSource {
  std::optional<std::string> file = {};     // a path, "-" (standard input), or an example's name;
                                            // none: the default example
  std::optional<std::string> example = {};  // --example NAME
  std::optional<std::string> weights = {};  // --weights FILE: a state_dict as JSON ("-": stdin)
  std::optional<std::string> weights_prefix = {};       // --weights-prefix: its layer
  std::optional<Index> heads = {};                      // --heads
  std::optional<std::string> rope = {};                 // --rope
  std::optional<std::vector<std::string>> tokens = {};  // --tokens, split at spaces
  std::uint64_t memory_budget = default_memory_budget;  // --memory-budget, in bytes
};

struct LoadedInput {
  Spec spec;
  std::string name;  // what messages call the input: "ex.json", "<stdin>", "example karim"
};

// What a run will compute of a spec and how it writes it out, for the memory budget.
struct BudgetedRun {
  TracePlan plan = {};
  Rendering rendering = Rendering::json;
};
using RunFor = std::function<BudgetedRun(const Spec&, const std::string& name)>;

// The input, loaded and validated, and within the memory budget: a file larger than the budget
// allows is refused before it is read, a trace that would need more before it is computed (the
// whole trace, or what `run_for` says the run computes). Throws Error, naming the input.
[[nodiscard]] LoadedInput load_input(const InputSource& source, const RunFor& run_for = {});

// What messages call the input: "ex.json", "<stdin>", "example karim".
[[nodiscard]] std::string input_name(const InputSource& source);

// Refuses a trace of `spec` that needs more memory than `budget` bytes (estimate_memory), with the
// budget that would do in the hint. Throws Error naming `name`.
void check_memory_budget(const Spec& spec, const std::string& name, std::uint64_t budget,
                         const BudgetedRun& run = {});

}  // namespace attn_trace
