// Loading the input a subcommand's flags name (source.hpp).
#include "attn_trace/input/source.hpp"

#include <cmath>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "attn_trace/core/suggest.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "input_error.hpp"
#include "safetensors.hpp"

namespace attn_trace {
namespace {

// The bundled example to trace: --example NAME, a FILE argument that is no file but names an
// example, or the default when there is neither; nothing when a file or standard input is meant.
std::optional<EmbeddedExample> chosen_example(const InputSource& source) {
  if (source.example) return find_example(*source.example);
  if (!source.file) return find_example(default_example);
  const std::string& file = *source.file;
  std::error_code ec;
  if (file == "-" || std::filesystem::exists(file, ec)) return std::nullopt;
  return find_example(file);
}

// The most JSON the budget lets the loader read: reading takes up to json_memory_factor times
// the text's size.
std::uint64_t max_json_bytes(const InputSource& source) {
  return source.memory_budget / json_memory_factor;
}

// What the command line adds to the input: a weights file (JSON, or safetensors by its name or
// its first bytes), a head count, the rope flag, token labels.
LoadOptions load_options(const InputSource& source) {
  LoadOptions load;
  load.num_heads = source.heads;
  load.rope = source.rope;
  load.tokens = source.tokens;
  load.max_unpacked = max_json_bytes(source);  // an .npz's arrays, as much as JSON text
  if (source.weights && loader::is_safetensors_file(*source.weights)) {
    // Mapped, not read: the budget counts the layer's values once read, not the whole file.
    load.weights = WeightsFile{.text = {},
                               .file = *source.weights,
                               .prefix = source.weights_prefix,
                               .format = WeightsFormat::safetensors,
                               .mapped = map_input_file(*source.weights),
                               .max_layer_bytes = source.memory_budget};
  } else if (source.weights) {
    load.weights =
        WeightsFile{read_input_file(*source.weights, max_json_bytes(source)),
                    *source.weights == "-" ? "<stdin>" : *source.weights, source.weights_prefix};
  }
  return load;
}

// A bundled example with --weights: only one without weights of its own can take them.
void check_example_takes_weights(const EmbeddedExample& example, const LoadOptions& load,
                                 const std::string& name) {
  if (!load.weights) return;
  const Spec own = load_spec(example.json, name);
  if (!own.learned_projections() && !own.out_proj && !own.bias_k) return;
  loader::fail_file("--weights " + load.weights->file,
                    fmt::format("the bundled example {} has weights of its own", example.name),
                    "give the input to use them with as a file without \"weights\": --input FILE "
                    "(attn-trace examples --show NAME prints an example to start from)");
}

// A FILE that is neither a file nor an example, but close to an example's name.
void check_not_a_mistyped_example(const std::string& file) {
  std::error_code ec;
  if (file == "-" || std::filesystem::exists(file, ec) || std::filesystem::is_symlink(file, ec)) {
    return;
  }
  if (const auto near = nearest(file, example_names())) {
    loader::fail_file(
        file, "no such file, and no bundled example of that name",
        fmt::format("did you mean the example '{}'? `attn-trace examples` lists them", *near));
  }
}

}  // namespace

std::string input_name(const InputSource& source) {
  if (const auto example = chosen_example(source)) return fmt::format("example {}", example->name);
  return *source.file == "-" ? "<stdin>" : *source.file;
}

void check_memory_budget(const Spec& spec, const std::string& name, std::uint64_t budget,
                         const BudgetedRun& run) {
  const MemoryEstimate need = estimate_memory(spec, run.plan, run.rendering);
  if (need.bytes <= static_cast<double>(budget)) return;
  // A budget that fits, rounded up to a whole number of MiB or GiB.
  const double mib = std::ceil(need.bytes * 1.1 / (1 << 20));
  const std::string enough =
      mib >= 1024 ? fmt::format("{:.0f}GiB", std::ceil(mib / 1024)) : fmt::format("{:.0f}MiB", mib);
  loader::fail_file(
      name,
      fmt::format("this trace needs about {} of memory, more than the budget of {} "
                  "(the largest part is {})",
                  format_size(need.bytes), format_size(static_cast<double>(budget)), need.largest),
      fmt::format("raise the budget with --memory-budget {} if the machine has that "
                  "much free, or trace fewer tokens or batches",
                  enough));
}

LoadedInput load_input(const InputSource& source, const RunFor& run_for) {
  LoadedInput loaded{.spec = {}, .name = input_name(source)};
  const LoadOptions load = load_options(source);
  if (const auto example = chosen_example(source)) {
    check_example_takes_weights(*example, load, loaded.name);
    loaded.spec = load_spec(example->json, loaded.name, load);
  } else {
    check_not_a_mistyped_example(*source.file);
    loaded.spec = load_spec_file(*source.file, max_json_bytes(source), load);
  }
  check_memory_budget(loaded.spec, loaded.name, source.memory_budget,
                      run_for ? run_for(loaded.spec, loaded.name) : BudgetedRun{});
  return loaded;
}

}  // namespace attn_trace
