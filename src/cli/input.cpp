// The input flags every tracing subcommand shares (input.hpp).
#include "input.hpp"

#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "attn_trace/core/memory.hpp"
#include "commands.hpp"

namespace attn_trace::cli {

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

// "the cat  sat" → the, cat, sat: split at spaces, as init's --tokens is.
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

void add_input_options(CLI::App* sub, InputOptions& options) {
  CLI::Option* file_option =
      sub->add_option("FILE", options.source.file,
                      "Input JSON (docs/input-format.md), a NumPy .npy (the input matrix) or "
                      ".npz (arrays named as the input's keys), or the name of a bundled example "
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
  sub->add_option("--example", options.source.example,
                  "Trace the bundled example NAME (attn-trace examples lists them)")
      ->check(CLI::Validator(check_example_name, "NAME", "example name"))
      ->excludes(file_option)
      ->excludes(input_option);
  CLI::Option* weights_option =
      sub->add_option("--weights", options.source.weights,
                      "The weights from a file of their own: a PyTorch state_dict as .safetensors "
                      "or dumped as JSON, of one attention layer or a whole model "
                      "(docs/input-format.md)")
          ->check(non_empty_path("weights", "FILE"));
  sub->add_option("--weights-prefix", options.source.weights_prefix,
                  "The layer of a whole model's state_dict to use, e.g. self_attn. or "
                  "layers.0.self_attn.")
      ->needs(weights_option);
  sub->add_option("--heads", options.source.heads,
                  "The number of heads, instead of the input's num_heads")
      ->check(whole_number(1, std::uint64_t{1} << 31));
  sub->add_option("--rope", options.source.rope,
                  "Rotary position embeddings of the layer: none (the only kind traced yet), "
                  "instead of the input's rope");
  sub->add_option_function<std::string>(
      "--tokens",
      [&options](const std::string& labels) { options.source.tokens = split_words(labels); },
      "Token labels, separated by spaces (\"the cat sat\"), one per row of the input, instead "
      "of the input's tokens");
  // Parsed once, here: the library takes the budget in bytes.
  sub->add_option_function<std::string>(
         "--memory-budget",
         [&options](const std::string& size) { options.source.memory_budget = *parse_size(size); },
         "Refuse, before computing, a trace that needs more memory than this (e.g. 512MiB, 8GiB)")
      ->check(CLI::Validator(
          [](const std::string& size) -> std::string {
            return parse_size(size) ? ""
                                    : "expected a size like 512MiB or 8GiB, found '" + size + "'";
          },
          "SIZE", "size"))
      ->default_str(format_size(static_cast<double>(default_memory_budget)));
}

void settle_input_options(InputOptions& options) {
  InputSource& source = options.source;
  if (options.input) source.file = options.input;
  if (source.weights && *source.weights == "-" && source.file && *source.file == "-") {
    throw CLI::ValidationError("--weights",
                               "the input and the weights cannot both come from standard input");
  }
}

}  // namespace attn_trace::cli
