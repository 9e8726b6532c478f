// The subcommands of the CLI, one file each: setup_X declares X's flags on the app and sets the
// callback that calls the library.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace attn_trace::cli {

void setup_run(CLI::App& app);
void setup_explain(CLI::App& app);
void setup_examples(CLI::App& app);
void setup_init(CLI::App& app);
void setup_check(CLI::App& app);

// Asks malloc and the kernel to give a big trace 2 MiB pages (transparent huge pages, where the
// kernel has them in "madvise" mode, Debian's default): on a virtual machine each 4 KiB page the
// kernel hands out costs microseconds, and a BERT-sized export writes 70,000 of them, a third of
// its time (bench/README.md). Small runs touch a few pages either way. Call first in main.
void use_huge_pages();

// The exit status of a subcommand that finished without an error: check sets 3 when the tensors
// differ. main returns it.
inline int exit_status = 0;

// "" for the name of a bundled example, else why not, with the nearest name and the list.
[[nodiscard]] std::string check_example_name(const std::string& name);

}  // namespace attn_trace::cli
