// The flags of every subcommand that traces, declared in one place: FILE (a path, '-', or a
// bundled example's name), --input, --example, --weights, --weights-prefix, --heads, --tokens and
// --memory-budget. They fill an InputSource (input/source.hpp), which the library loads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "attn_trace/input/source.hpp"

namespace attn_trace::cli {

struct InputOptions {
  InputSource source;
  std::optional<std::string> input;  // --input FILE, the same as FILE
};

// Declares the input's flags on `sub`, FILE as its next positional argument.
void add_input_options(CLI::App* sub, InputOptions& options);

// Checks what CLI11 cannot (both the input and the weights from standard input) and folds --input
// into FILE; call first in the subcommand's callback. Throws CLI::ValidationError.
void settle_input_options(InputOptions& options);

// "the cat  sat" → the, cat, sat: token labels split at spaces, as --tokens takes them.
[[nodiscard]] std::vector<std::string> split_words(const std::string& text);

// A validator for a whole number in [low, high], with a message that says so: CLI11's own range
// check prints its bounds as doubles ("0.000000 to 1797693134862315708…").
[[nodiscard]] CLI::Validator whole_number(std::uint64_t low, std::uint64_t high);

// A path flag given an empty string ('' from a shell variable that was never set).
[[nodiscard]] CLI::Validator non_empty_path(const std::string& what,
                                            const std::string& placeholder);

}  // namespace attn_trace::cli
