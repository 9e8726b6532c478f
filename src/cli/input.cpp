#include "input.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "commands.hpp"

namespace attn_trace::cli {
namespace {

// Refuses, before computing anything, a trace that needs more memory than the budget.
void check_memory(const Spec& spec, const std::string& source, const std::string& budget_text) {
  const std::uint64_t budget = *parse_size(budget_text);  // checked when the flag was parsed
  const MemoryEstimate need = estimate_memory(spec);
  if (need.bytes <= static_cast<double>(budget)) return;
  // A budget that fits, rounded up to a whole number of MiB or GiB.
  const double mib = std::ceil(need.bytes * 1.1 / (1 << 20));
  const std::string enough =
      mib >= 1024 ? fmt::format("{:.0f}GiB", std::ceil(mib / 1024)) : fmt::format("{:.0f}MiB", mib);
  throw Error(fmt::format("{}: this trace needs about {} of memory, more than the budget of {} "
                          "(the largest part is {})",
                          source, format_size(need.bytes), format_size(static_cast<double>(budget)),
                          need.largest),
              fmt::format("raise the budget with --memory-budget {} if the machine has that much "
                          "free, or trace fewer tokens or batches",
                          enough));
}

// The bundled example to trace: --example NAME, a FILE argument that is no file but names an
// example, or the default when there is neither; nothing when a file or standard input is meant.
std::optional<EmbeddedExample> chosen_example(const InputOptions& options) {
  if (options.example) return find_example(*options.example);  // checked by the validator
  if (!options.file) return find_example(default_example);
  const std::string& file = *options.file;
  std::error_code ec;
  if (file == "-" || std::filesystem::exists(file, ec)) return std::nullopt;
  return find_example(file);
}

// What the command line adds to the input: a weights file and a head count.
LoadOptions load_options(const InputOptions& options) {
  LoadOptions load;
  load.num_heads = options.heads;
  if (options.weights) {
    load.weights = WeightsFile{
        read_input_file(*options.weights, *parse_size(options.memory_budget) / json_memory_factor),
        *options.weights == "-" ? "<stdin>" : *options.weights, options.weights_prefix};
  }
  return load;
}

}  // namespace

// A validator for a whole number in [low, high], with a message that says so: CLI11's own range
// check prints its bounds as doubles ("0.000000 to 1797693134862315708…").
CLI::Validator whole_number(std::uint64_t low, std::uint64_t high) {
  return CLI::Validator(
      [low, high](const std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error == std::errc() && end == text.data() + text.size() && value >= low &&
            value <= high) {
          return "";
        }
        return fmt::format("expected a whole number from {} to {}, found '{}'", low, high, text);
      },
      "N", "whole number");
}

// A path flag given an empty string ('' from a shell variable that was never set).
CLI::Validator non_empty_path(const std::string& what, const std::string& placeholder) {
  return CLI::Validator(
      [what](const std::string& path) -> std::string {
        return path.empty() ? fmt::format("the {} path is an empty string; give a file name", what)
                            : "";
      },
      placeholder, "non-empty");
}

void add_input_options(CLI::App* sub, InputOptions& options) {
  CLI::Option* file_option =
      sub->add_option("FILE", options.file,
                      "Input JSON (docs/input-format.md), or the name of a bundled example "
                      "(attn-trace examples); '-' reads standard input; none traces the bundled "
                      "example \"I am good\"")
          ->check(CLI::Validator(
              [](const std::string& path) -> std::string {
                return path.empty()
                           ? "FILE is an empty string; give a path, or '-' for standard input"
                           : "";
              },
              "", "non-empty"));
  CLI::Option* input_option =
      sub->add_option("--input", options.input, "The input file, the same as FILE")
          ->check(non_empty_path("input", "FILE"))
          ->excludes(file_option);
  sub->add_option("--example", options.example,
                  "Trace the bundled example NAME (attn-trace examples lists them)")
      ->check(CLI::Validator(check_example_name, "NAME", "example name"))
      ->excludes(file_option)
      ->excludes(input_option);
  CLI::Option* weights_option =
      sub->add_option("--weights", options.weights,
                      "The weights from a file of their own: a PyTorch state_dict dumped as JSON, "
                      "of one attention layer or a whole model (docs/input-format.md)")
          ->check(non_empty_path("weights", "FILE"));
  sub->add_option("--weights-prefix", options.weights_prefix,
                  "The layer of a whole model's state_dict to use, e.g. self_attn. or "
                  "layers.0.self_attn.")
      ->needs(weights_option);
  sub->add_option("--heads", options.heads, "The number of heads, instead of the input's num_heads")
      ->check(whole_number(1, std::uint64_t{1} << 31));
  sub->add_option("--memory-budget", options.memory_budget,
                  "Refuse, before computing, a trace that needs more memory than this (e.g. "
                  "512MiB, 8GiB)")
      ->check(CLI::Validator(
          [](const std::string& size) -> std::string {
            return parse_size(size) ? ""
                                    : "expected a size like 512MiB or 8GiB, found '" + size + "'";
          },
          "SIZE", "size"))
      ->capture_default_str();
}

void settle_input_options(InputOptions& options) {
  if (options.input) options.file = options.input;
  if (options.weights && *options.weights == "-" && options.file && *options.file == "-") {
    throw CLI::ValidationError("--weights",
                               "the input and the weights cannot both come from standard input");
  }
}

std::string input_name(const InputOptions& options) {
  if (const auto example = chosen_example(options)) return fmt::format("example {}", example->name);
  return *options.file == "-" ? "<stdin>" : *options.file;
}

LoadedInput load_input(const InputOptions& options) {
  Spec spec;
  const std::string source = input_name(options);
  const LoadOptions load = load_options(options);
  if (const auto example = chosen_example(options)) {
    if (load.weights && [&] {
          const Spec own = load_spec(example->json, source);
          return own.learned_projections() || own.out_proj || own.bias_k;
        }()) {
      throw Error(fmt::format("--weights {}: the bundled example {} has weights of its own",
                              load.weights->file, example->name),
                  "give the input to use them with as a file without \"weights\": --input FILE "
                  "(attn-trace examples --show NAME prints an example to start from)");
    }
    spec = load_spec(example->json, source, load);
  } else {
    const std::string& file = *options.file;
    std::error_code ec;
    if (file != "-" && !std::filesystem::exists(file, ec) &&
        !std::filesystem::is_symlink(file, ec)) {
      if (const auto near = nearest(file, example_names())) {
        throw Error(
            fmt::format("{}: no such file, and no bundled example of that name", file),
            fmt::format("did you mean the example '{}'? `attn-trace examples` lists them", *near));
      }
    }
    spec = load_spec_file(file, *parse_size(options.memory_budget) / json_memory_factor, load);
  }
  check_memory(spec, source, options.memory_budget);
  check_memory(spec, source, options.memory_budget);
  return {std::move(spec), source};
}

}  // namespace attn_trace::cli
