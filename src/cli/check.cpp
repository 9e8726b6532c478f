// attn-trace check MINE [FILE]: a learner's own tensors against the trace of FILE.
//
// Exit status: 0 every tensor given matches, 3 one differs, 1 bad input, 2 bad usage.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/given.hpp"
#include "attn_trace/render/check.hpp"
#include "attn_trace/render/output_file.hpp"
#include "attn_trace/teach/check.hpp"
#include "commands.hpp"
#include "input.hpp"

namespace attn_trace::cli {
namespace {

struct CheckCommand {
  std::string mine;
  InputOptions input;
  Tolerance tolerance;
  std::string format = "text";        // text | json
  std::optional<std::string> output;  // -o PATH; none: standard output
  int precision = 4;
};

// A word as a shell reads it back: quoted when it holds anything but plain characters.
std::string shell_word(const std::string& word) {
  if (word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./"
                             ",:=+") == std::string::npos) {
    return word;
  }
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The input's flags again, for the `attn-trace explain` the report suggests.
std::string input_args(const InputSource& source) {
  std::vector<std::string> args;
  if (source.file) args.push_back(shell_word(*source.file));
  if (source.example) args.push_back("--example " + shell_word(*source.example));
  if (source.weights) args.push_back("--weights " + shell_word(*source.weights));
  if (source.weights_prefix)
    args.push_back("--weights-prefix " + shell_word(*source.weights_prefix));
  if (source.heads) args.push_back(fmt::format("--heads {}", *source.heads));
  if (source.rope) args.push_back("--rope " + shell_word(*source.rope));
  if (source.tokens)
    args.push_back("--tokens " + shell_word(fmt::format("{}", fmt::join(*source.tokens, " "))));
  return fmt::format("{}", fmt::join(args, " "));
}

void render(const CheckReport& report, const CheckCommand& command, std::ostream& out) {
  if (command.format == "json") {
    render_check_json(report, out);
  } else {
    render_check_text(
        report, {.precision = command.precision, .input_args = input_args(command.input.source)},
        out);
  }
}

void check(const CheckCommand& command) {
  if (command.mine == "-" && command.input.source.file == "-") {
    throw CLI::ValidationError("MINE and FILE cannot both be standard input ('-')");
  }
  // The learner's file first: its problems are theirs to fix whatever the input.
  const GivenTensors given = load_given_tensors(command.mine, command.input.source.memory_budget);
  const auto [spec, source] = load_input(command.input.source);
  const Trace trace = trace_attention(spec);
  const CheckReport report =
      check_tensors(spec, trace, given, {.tolerance = command.tolerance, .input = source});
  if (command.output) {
    AtomicFile file(*command.output);
    render(report, command, file.stream());
    file.commit();
  } else {
    render(report, command, std::cout);
    std::cout.flush();
    if (!std::cout) throw Error("cannot write to standard output");
  }
  if (!report.match()) exit_status = 3;
}

// A tolerance: a finite number ≥ 0.
CLI::Validator tolerance_value(const std::string& name) {
  return CLI::Validator(
      [name](const std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          const double value = std::stod(text, &used);
          if (used == text.size() && value >= 0 && value < 1e300) return {};
        } catch (const std::exception&) {
        }
        return fmt::format("expected a number ≥ 0 such as 1e-4, found '{}'", text);
      },
      "X", name);
}

}  // namespace

void setup_check(CLI::App& app) {
  auto command = std::make_shared<CheckCommand>();
  CLI::App* sub = app.add_subcommand(
      "check",
      "Compare your own tensors with the trace: the first one that differs, and the classic "
      "mistake that gives your numbers.");
  sub->add_option("MINE", command->mine,
                  "Your tensors: a JSON object or an .npz (np.savez) mapping names (q, "
                  "attn_scores, attn_weights, attn_output, split_heads.Q, …; docs/check.md) to "
                  "arrays, or an attn-trace JSON trace; '-' for standard input")
      ->required()
      ->check(non_empty_path("MINE", "MINE"));
  add_input_options(sub, command->input);
  sub->add_option("--rtol", command->tolerance.rtol,
                  "Relative tolerance: yours and the trace's agree when |yours − trace| ≤ atol + "
                  "rtol·|trace|")
      ->check(tolerance_value("rtol"))
      ->capture_default_str();
  sub->add_option("--atol", command->tolerance.atol, "Absolute tolerance")
      ->check(tolerance_value("atol"))
      ->capture_default_str();
  sub->add_option("--format", command->format,
                  "Output format: text (for you) or json (for autograders; docs/check.md)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  sub->add_option("-o,--output", command->output,
                  "Write the report to this file instead of standard output (atomically)")
      ->check(non_empty_path("output", "PATH"));
  sub->add_option("--precision", command->precision, "Decimals of the numbers shown")
      ->check(whole_number(0, 15))
      ->capture_default_str();
  sub->footer(
      "Exit status: 0 every tensor you gave matches the trace, 3 one differs, 1 bad "
      "input, 2 bad usage.");
  sub->callback([command] {
    settle_input_options(command->input);
    check(*command);
  });
}

}  // namespace attn_trace::cli
