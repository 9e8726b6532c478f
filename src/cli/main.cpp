// attn-trace: the command line. Only wiring: flags are declared per subcommand (commands.hpp), the
// work is done by the library, and every error is caught here once.
//
// Exit status: 0 success; 1 bad input or I/O failure; 2 bad usage (unknown flag, bad flag value);
// 3 from check, when the learner's tensors differ from the trace.
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "attn_trace/core/error.hpp"
#include "commands.hpp"
#include "usage.hpp"

int main(int argc, char** argv) {
  attn_trace::cli::use_huge_pages();
  CLI::App app{
      "attn-trace: trace transformer self-attention one stage at a time, as the tutorials "
      "do it on paper.",
      "attn-trace"};
  app.set_version_flag("--version", "attn-trace " ATTN_TRACE_VERSION);
  app.footer(
      "Run 'attn-trace run' to trace the bundled example \"I am good\", 'attn-trace examples' to "
      "list the others.\n"
      "Exit status: 0 success, 1 bad input or I/O failure, 2 bad usage, 3 (check) your tensors "
      "differ from the trace.");
  attn_trace::cli::setup_run(app);
  attn_trace::cli::setup_explain(app);
  attn_trace::cli::setup_examples(app);
  attn_trace::cli::setup_init(app);
  attn_trace::cli::setup_check(app);

  // A mistyped flag or subcommand is found before CLI11 parses: CLI11 would say only "not
  // expected", or read `-heads` as -h and print the help, or hand `--head 4`'s 4 to FILE.
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (const auto problem = attn_trace::cli::find_unknown_argument(app, args)) {
    fmt::print(std::cerr, "attn-trace: error: {}\n", problem->message);
    if (!problem->hint.empty()) fmt::print(std::cerr, "hint: {}\n", problem->hint);
    return 2;
  }

  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      fmt::print(std::cerr, "{}", app.help());
      return 2;
    }
  } catch (const CLI::CallForHelp&) {
    return app.exit(CLI::CallForHelp());
  } catch (const CLI::CallForAllHelp&) {
    return app.exit(CLI::CallForAllHelp());
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(std::cerr, "attn-trace: error: {}\n", e.what());
    fmt::print(std::cerr, "Run with --help for more information.\n");
    return 2;
  } catch (const attn_trace::Error& e) {
    fmt::print(std::cerr, "attn-trace: error: {}\n", e.what());
    if (!e.hint().empty()) fmt::print(std::cerr, "hint: {}\n", e.hint());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(std::cerr,
               "attn-trace: error: out of memory: this trace needs more memory than the "
               "machine has\nhint: trace fewer tokens, or fewer batches at a time\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(std::cerr, "attn-trace: error: {}\n", e.what());
    return 1;
  }
  return attn_trace::cli::exit_status;
}
