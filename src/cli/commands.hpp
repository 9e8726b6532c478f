// The subcommands of the CLI, one file each: setup_X declares X's flags on the app and sets the
// callback that calls the library.
#pragma once

#include <CLI/CLI.hpp>

namespace attn_trace::cli {

void setup_run(CLI::App& app);

}  // namespace attn_trace::cli
