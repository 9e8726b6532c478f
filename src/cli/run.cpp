// attn-trace run [FILE]: load an input (or the bundled default example), trace it, render it.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "attn_trace/error.hpp"
#include "attn_trace/examples.hpp"
#include "attn_trace/load.hpp"
#include "attn_trace/memory.hpp"
#include "attn_trace/output_file.hpp"
#include "attn_trace/published.hpp"
#include "attn_trace/render_json.hpp"
#include "attn_trace/render_text.hpp"
#include "attn_trace/suggest.hpp"
#include "attn_trace/tracer.hpp"
#include "commands.hpp"

namespace attn_trace::cli {
namespace {

struct RunOptions {
  std::optional<std::string> file;            // none: the default example; "-": standard input
  std::optional<std::string> example;         // --example NAME
  std::optional<std::string> input;           // --input FILE, the same as FILE
  std::optional<std::string> weights;         // --weights FILE: a state_dict as JSON
  std::optional<std::string> weights_prefix;  // --weights-prefix: the layer of it
  std::optional<Index> heads;                 // --heads
  std::string format = "text";                // text | json
  std::optional<std::string> output;          // -o PATH; none: standard output
  std::size_t weighted_limit = default_weighted_limit;
  std::string memory_budget = format_size(static_cast<double>(default_memory_budget));
  TextOptions text;
};

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

// One renderer per format, each reading the finished trace.
void render(const Trace& trace, const RunOptions& options, std::ostream& out) {
  if (options.format == "json") {
    render_json(trace, JsonOptions{options.text.stages, options.weighted_limit}, out);
  } else {
    TextOptions text = options.text;
    text.weighted_limit = options.weighted_limit;
    render_text(trace, text, out);
  }
}

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

// --stages takes known stage ids only; a typo is a usage error that lists them.
std::string check_stage_id(const std::string& id) {
  const auto ids = stage_ids();
  if (std::find(ids.begin(), ids.end(), id) != ids.end()) return {};
  const auto suggestion = nearest(id, ids);
  return fmt::format("unknown stage '{}'{}; stages are: {}", id,
                     suggestion ? fmt::format(" (did you mean '{}'?)", *suggestion) : "",
                     fmt::join(ids, ", "));
}

// The bundled example to trace: --example NAME, a FILE argument that is no file but names an
// example, or the default when there is neither; nothing when a file or standard input is meant.
std::optional<EmbeddedExample> chosen_example(const RunOptions& options) {
  if (options.example) return find_example(*options.example);  // checked by the validator
  if (!options.file) return find_example(default_example);
  const std::string& file = *options.file;
  std::error_code ec;
  if (file == "-" || std::filesystem::exists(file, ec)) return std::nullopt;
  return find_example(file);
}

// What the input is called in messages.
std::string input_name(const RunOptions& options) {
  if (const auto example = chosen_example(options)) return fmt::format("example {}", example->name);
  return *options.file == "-" ? "<stdin>" : *options.file;
}

// What the command line adds to the input: a weights file and a head count.
LoadOptions load_options(const RunOptions& options) {
  LoadOptions load;
  load.num_heads = options.heads;
  if (options.weights) {
    load.weights = WeightsFile{
        read_input_file(*options.weights, *parse_size(options.memory_budget) / json_memory_factor),
        *options.weights == "-" ? "<stdin>" : *options.weights, options.weights_prefix};
  }
  return load;
}

void run_checked(const RunOptions& options) {
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
  Trace trace = trace_attention(spec);
  trace.published = check_published(spec.published, trace, source);
  // The walkthrough on the terminal shows the warnings in its header; a JSON export or a file
  // would hide them, so they go to standard error as well.
  if (options.format == "json" || options.output) {
    for (const std::string& warning : trace.warnings) {
      fmt::print(stderr, "attn-trace: warning: {}\n", warning);
    }
  }
  if (options.output) {
    AtomicFile file(*options.output);
    try {
      render(trace, options, file.stream());
    } catch (const std::system_error& e) {  // a write failed half way
      file.fail(e.code().message());
    }
    file.commit();
    return;
  }
  try {
    render(trace, options, std::cout);
  } catch (const std::system_error& e) {
    throw Error(fmt::format("cannot write to standard output: {}", e.code().message()));
  }
  std::cout.flush();
  if (!std::cout) throw Error("cannot write to standard output");
}

// An allocation that fails on the way (a budget above what the machine has free) is reported with
// the input it was for.
void run(const RunOptions& options) {
  try {
    run_checked(options);
  } catch (const std::bad_alloc&) {
    const std::string source = input_name(options);
    throw Error(fmt::format("{}: out of memory: the machine has less free memory than this trace "
                            "needs",
                            source),
                "trace fewer tokens or batches; --memory-budget refuses such a trace before it "
                "starts");
  }
}

}  // namespace

void setup_run(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* sub =
      app.add_subcommand("run", "Trace attention over an input file and print every stage.");
  sub->set_version_flag("--version", "attn-trace " ATTN_TRACE_VERSION);
  CLI::Option* file_option =
      sub->add_option("FILE", options->file,
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
      sub->add_option("--input", options->input, "The input file, the same as FILE")
          ->check(non_empty_path("input", "FILE"))
          ->excludes(file_option);
  sub->add_option("--example", options->example,
                  "Trace the bundled example NAME (attn-trace examples lists them)")
      ->check(CLI::Validator(check_example_name, "NAME", "example name"))
      ->excludes(file_option)
      ->excludes(input_option);
  CLI::Option* weights_option =
      sub->add_option("--weights", options->weights,
                      "The weights from a file of their own: a PyTorch state_dict dumped as JSON, "
                      "of one attention layer or a whole model (docs/input-format.md)")
          ->check(non_empty_path("weights", "FILE"));
  sub->add_option("--weights-prefix", options->weights_prefix,
                  "The layer of a whole model's state_dict to use, e.g. self_attn. or "
                  "layers.0.self_attn.")
      ->needs(weights_option);
  sub->add_option("--heads", options->heads,
                  "The number of heads, instead of the input's num_heads")
      ->check(whole_number(1, std::uint64_t{1} << 31));
  sub->add_option("--precision", options->text.precision, "Decimals per number")
      ->check(whole_number(0, 15))
      ->capture_default_str();
  sub->add_option("--format", options->format, "Output format: text (the walkthrough) or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  sub->add_option("-o,--output", options->output,
                  "Write to this file instead of standard output (atomically: a failure never "
                  "leaves a partial file)")
      ->check(non_empty_path("output", "PATH"));
  sub->add_option("--weighted-limit", options->weighted_limit,
                  "Write weighted_values only when it has at most this many numbers")
      // 2^53: far above any weighted_values, and exact in a double.
      ->check(whole_number(0, std::uint64_t{1} << 53))
      ->capture_default_str();
  sub->add_option("--memory-budget", options->memory_budget,
                  "Refuse, before computing, a trace that needs more memory than this (e.g. "
                  "512MiB, 8GiB)")
      ->check(CLI::Validator(
          [](const std::string& size) -> std::string {
            return parse_size(size) ? ""
                                    : "expected a size like 512MiB or 8GiB, found '" + size + "'";
          },
          "SIZE", "size"))
      ->capture_default_str();
  sub->add_flag("--full", options->text.full,
                "Print every number, even of tensors with more than 1000 elements");
  sub->add_option("--stages", options->text.stages,
                  fmt::format("Show only these stages, comma-separated (e.g. scores,softmax): {}",
                              fmt::join(stage_ids(), ", ")))
      ->delimiter(',')
      ->check(CLI::Validator(check_stage_id, "STAGE", "stage id"));
  sub->callback([options] {
    if (options->input) options->file = options->input;
    if (options->weights && *options->weights == "-" && options->file && *options->file == "-") {
      throw CLI::ValidationError("--weights",
                                 "the input and the weights cannot both come from standard input");
    }
    run(*options);
  });
}

}  // namespace attn_trace::cli
