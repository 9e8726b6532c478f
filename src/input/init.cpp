// The generated input file of init.hpp.
#include "attn_trace/input/init.hpp"

#include <cassert>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attn_trace/core/text.hpp"

namespace attn_trace {
namespace {

using json = nlohmann::ordered_json;

// SplitMix64: a tiny generator whose output is fixed by its definition, unlike
// std::uniform_real_distribution's, which differs between standard libraries.
class Generator {
 public:
  explicit Generator(std::uint64_t seed) : state_(seed) {}

  // Uniform in [low, high).
  double uniform(double low, double high) {
    state_ += 0x9E3779B97F4A7C15u;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    const double unit = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
    return low + (high - low) * unit;
  }

 private:
  std::uint64_t state_;
};

double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  const double r = std::round(value * scale) / scale;
  return r == 0 ? 0.0 : r;  // no -0
}

Matrix random_matrix(Generator& generator, Index rows, Index cols, double bound, int decimals) {
  Matrix m(rows, cols);
  for (Index i = 0; i < rows; ++i) {
    for (Index j = 0; j < cols; ++j) m(i, j) = rounded(generator.uniform(-bound, bound), decimals);
  }
  return m;
}

// A JSON string, escaped.
std::string quoted(const std::string& text) {
  return json(text).dump();
}

// A list of numbers on one line: [0, 0.5, -1].
std::string numbers(const std::vector<double>& values) {
  return fmt::format("[{}]", fmt::join(values, ", "));
}

// A matrix as a person would type it, one row per line, at `indent` spaces.
std::string matrix(const Matrix& m, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  std::vector<std::string> lines;
  for (Index i = 0; i < m.rows(); ++i) {
    std::vector<double> row(m.row(i).begin(), m.row(i).end());
    lines.push_back(pad + "  " + numbers(row));
  }
  return fmt::format("[\n{}\n{}]", fmt::join(lines, ",\n"), pad);
}

}  // namespace

std::string initial_input(const InitOptions& options) {
  const Index L = options.seq_len, E = options.embed_dim;
  assert(E % options.num_heads == 0);
  assert(options.tokens.empty() || static_cast<Index>(options.tokens.size()) == L);
  Generator generator(options.seed);
  const Matrix x = random_matrix(generator, L, E, 1.0, 2);
  // nn.MultiheadAttention._reset_parameters: xavier_uniform_(in_proj_weight), whose fans are E
  // (in) and 3E (out); out_proj keeps nn.Linear's kaiming_uniform_(a=√5), bound 1/√E; biases 0.
  const double in_bound = std::sqrt(6.0 / static_cast<double>(E + 3 * E));
  const double out_bound = 1.0 / std::sqrt(static_cast<double>(E));
  const Matrix in_proj = random_matrix(generator, 3 * E, E, in_bound, 4);
  const Matrix out_proj = random_matrix(generator, E, E, out_bound, 4);
  const std::vector<double> zeros(static_cast<std::size_t>(E), 0.0);

  const std::string name = fmt::format("attention over {} tokens, E = {}, {}", L, E,
                                       plural(options.num_heads, "head", "heads"));
  const std::string description = fmt::format(
      "Written by attn-trace init with seed {}: X uniform in [-1, 1), and weights initialised as "
      "nn.MultiheadAttention initialises them (Xavier-uniform in_proj_weight, out_proj with "
      "nn.Linear's default, zero biases). Edit any number.",
      options.seed);
  std::vector<std::string> fields = {fmt::format("  \"name\": {}", quoted(name)),
                                     fmt::format("  \"description\": {}", quoted(description)),
                                     fmt::format("  \"input\": {}", matrix(x, 2))};
  if (!options.tokens.empty()) {
    std::vector<std::string> labels;
    for (const std::string& token : options.tokens) labels.push_back(quoted(token));
    fields.push_back(fmt::format("  \"tokens\": [{}]", fmt::join(labels, ", ")));
  }
  fields.push_back(fmt::format("  \"num_heads\": {}", options.num_heads));
  std::vector<std::string> weights;
  const auto weight = [&](std::string_view key, const std::string& value) {
    weights.push_back(fmt::format("    \"{}\": {}", key, value));
  };
  if (options.layout == WeightLayout::torch) {
    fields.push_back("  \"weight_layout\": \"torch\"");
    weight("in_proj_weight", matrix(in_proj, 4));
    weight("in_proj_bias", numbers(std::vector<double>(static_cast<std::size_t>(3 * E), 0.0)));
    weight("out_proj.weight", matrix(out_proj, 4));
    weight("out_proj.bias", numbers(zeros));
  } else {
    // The same matrices, written (in, out) as x·W uses them.
    fields.push_back("  \"weight_layout\": \"math\"");
    weight("W_q", matrix(in_proj.topRows(E).transpose(), 4));
    weight("W_k", matrix(in_proj.middleRows(E, E).transpose(), 4));
    weight("W_v", matrix(in_proj.bottomRows(E).transpose(), 4));
    weight("b_q", numbers(zeros));
    weight("b_k", numbers(zeros));
    weight("b_v", numbers(zeros));
    weight("W_o", matrix(out_proj.transpose(), 4));
    weight("b_o", numbers(zeros));
  }
  fields.push_back(fmt::format("  \"weights\": {{\n{}\n  }}", fmt::join(weights, ",\n")));
  return fmt::format("{{\n{}\n}}\n", fmt::join(fields, ",\n"));
}

}  // namespace attn_trace
