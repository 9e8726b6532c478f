// attn-trace init: writes a ready-to-edit input file (include/attn_trace/init.hpp).
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/input/init.hpp"
#include "attn_trace/render/output_file.hpp"
#include "commands.hpp"

namespace attn_trace::cli {
namespace {

struct InitCommand {
  InitOptions init;
  std::optional<Index> seq_len;
  std::string tokens;  // "the cat sat"
  std::string layout = "torch";
  std::string mask = "none";
  std::optional<std::string> output;
};

// Checks what the flags alone cannot: the tokens against --seq-len, the heads against E.
// Problems are usage errors (exit 2), like any bad flag value.
InitOptions resolve(const InitCommand& command) {
  InitOptions options = command.init;
  std::istringstream words(command.tokens);
  for (std::string word; words >> word;) options.tokens.push_back(word);
  if (!options.tokens.empty()) {
    const Index count = static_cast<Index>(options.tokens.size());
    if (command.seq_len && *command.seq_len != count) {
      throw CLI::ValidationError(
          "--tokens", fmt::format("{} tokens but --seq-len {}: give one of them, or the same "
                                  "length",
                                  count, *command.seq_len));
    }
    options.seq_len = count;
  } else if (command.seq_len) {
    options.seq_len = *command.seq_len;
  }
  if (options.embed_dim % options.num_heads != 0) {
    throw CLI::ValidationError(
        "--heads", fmt::format("{} does not divide --embed-dim {}, head counts that would: {}",
                               options.num_heads, options.embed_dim,
                               fmt::join(head_counts(options.embed_dim), ", ")));
  }
  options.layout = command.layout == "math" ? WeightLayout::math : WeightLayout::torch;
  options.causal = command.mask == "causal";
  return options;
}

}  // namespace

void setup_init(CLI::App& app) {
  auto command = std::make_shared<InitCommand>();
  CLI::App* sub = app.add_subcommand(
      "init",
      "Write a ready-to-edit input file, initialised as nn.MultiheadAttention is (or with whole "
      "numbers to work by hand: --integers).");
  sub->add_option("--seq-len", command->seq_len, "L, the number of tokens (default 3)")
      ->check(CLI::Range(Index{1}, Index{4096}));
  sub->add_option("--embed-dim", command->init.embed_dim, "E, the numbers per token")
      ->check(CLI::Range(Index{1}, Index{1024}))
      ->capture_default_str();
  sub->add_option("--heads", command->init.num_heads, "H, the number of heads (divides E)")
      ->check(CLI::Range(Index{1}, Index{1024}))
      ->capture_default_str();
  sub->add_option("--tokens", command->tokens,
                  "Token labels, separated by spaces (\"the cat sat\"); they set L");
  sub->add_option("--seed", command->init.seed,
                  "Seed of the generator: the same seed always writes the same file")
      ->capture_default_str();
  sub->add_option("--layout", command->layout,
                  "torch: in_proj_weight (3E, E) as a state_dict has it; math: W_q, W_k, W_v, W_o "
                  "(in, out)")
      ->check(CLI::IsMember({"torch", "math"}))
      ->capture_default_str();
  sub->add_option("--mask", command->mask,
                  "causal: write \"mask\": \"causal\", each token attends itself and the tokens "
                  "before it; none: no mask")
      ->check(CLI::IsMember({"none", "causal"}))
      ->capture_default_str();
  sub->add_flag("--integers", command->init.integers,
                "Whole numbers from -2 to 2 for X and the weights, biases 0, to work by hand "
                "(instead of PyTorch's initialisation)");
  sub->add_option("-o,--output", command->output, "Write to this file instead of standard output");
  sub->callback([command] {
    const std::string text = initial_input(resolve(*command));
    if (!command->output) {
      std::cout << text;
      std::cout.flush();
      if (!std::cout) throw Error("cannot write to standard output");
      return;
    }
    AtomicFile file(*command->output);
    file.stream() << text;
    file.commit();
  });
}

}  // namespace attn_trace::cli
