// What every subcommand that traces takes as its input, declared and loaded in one place: FILE (a
// path, '-', or a bundled example's name), --input, --example, --weights, --weights-prefix,
// --heads and --memory-budget.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/spec.hpp"

namespace attn_trace::cli {

struct InputOptions {
  std::optional<std::string> file;            // none: the default example; "-": standard input
  std::optional<std::string> example;         // --example NAME
  std::optional<std::string> input;           // --input FILE, the same as FILE
  std::optional<std::string> weights;         // --weights FILE: a state_dict as JSON
  std::optional<std::string> weights_prefix;  // --weights-prefix: the layer of it
  std::optional<Index> heads;                 // --heads
  std::string memory_budget = format_size(static_cast<double>(default_memory_budget));
};

// Declares the input's flags on `sub`, FILE as its next positional argument.
void add_input_options(CLI::App* sub, InputOptions& options);

// Checks what CLI11 cannot (--input with FILE; both from standard input) and folds --input into
// FILE; call first in the subcommand's callback. Throws CLI::ValidationError.
void settle_input_options(InputOptions& options);

// The input loaded, validated and within the memory budget, and what messages call it ("ex.json",
// "<stdin>", "example karim"). Throws Error.
struct LoadedInput {
  Spec spec;
  std::string source;
};
[[nodiscard]] LoadedInput load_input(const InputOptions& options);

// What the input is called in messages.
[[nodiscard]] std::string input_name(const InputOptions& options);

// A validator for a whole number in [low, high], with a message that says so: CLI11's own range
// check prints its bounds as doubles ("0.000000 to 1797693134862315708…").
[[nodiscard]] CLI::Validator whole_number(std::uint64_t low, std::uint64_t high);

// A path flag given an empty string ('' from a shell variable that was never set).
[[nodiscard]] CLI::Validator non_empty_path(const std::string& what,
                                            const std::string& placeholder);

}  // namespace attn_trace::cli
