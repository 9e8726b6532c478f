// Words on the command line that no subcommand knows: a mistyped flag or subcommand gets the
// nearest name instead of CLI11's bare "The following argument was not expected".
#pragma once

#include <optional>
#include <span>
#include <string>

#include <CLI/CLI.hpp>

namespace attn_trace::cli {

// A usage error (exit 2) found before CLI11 parses: the message and, when it helps, a hint.
struct UsageProblem {
  std::string message;
  std::string hint;
};

// The first argument of `args` (argv without the program name) that is no flag of the command it
// is given to: a flag the subcommand does not have (`run --head`, `run -heads`, `run --head=4`),
// or, before any subcommand, a word that is none (`rnu`). Reads `args` as CLI11 does: the word
// after a flag that takes a value is that value, even when it starts with '-' (`--weighted-limit
// -5`), and nothing after "--" is a flag.
[[nodiscard]] std::optional<UsageProblem> find_unknown_argument(const CLI::App& app,
                                                                std::span<const std::string> args);

}  // namespace attn_trace::cli
