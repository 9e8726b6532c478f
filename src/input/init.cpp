// The generated input file of init.hpp.
#include "attn_trace/input/init.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attn_trace/core/stages.hpp"
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

// The numbers of a file before they are written: X (L, E), in_proj_weight (3E, E) stacking W_q,
// W_k, W_v, and out_proj.weight (E, E); every bias is 0.
struct InitialNumbers {
  Matrix x, in_proj, out_proj;
};

// X and the weights as nn.MultiheadAttention initialises them.
InitialNumbers pytorch_numbers(Generator& generator, Index L, Index E) {
  InitialNumbers n;
  n.x = random_matrix(generator, L, E, 1.0, 2);
  // nn.MultiheadAttention._reset_parameters: xavier_uniform_(in_proj_weight), whose fans are E
  // (in) and 3E (out); out_proj keeps nn.Linear's kaiming_uniform_(a=√5), bound 1/√E; biases 0.
  const double in_bound = std::sqrt(6.0 / static_cast<double>(E + 3 * E));
  const double out_bound = 1.0 / std::sqrt(static_cast<double>(E));
  n.in_proj = random_matrix(generator, 3 * E, E, in_bound, 4);
  n.out_proj = random_matrix(generator, E, E, out_bound, 4);
  return n;
}

// ---- --integers ----

// A whole number in −2…2: mostly 0, 1 and −1 (40 %, 25 %, 25 %), sometimes ±2 (5 % each), so
// that the scores of a few tokens stay small enough to take exp of by hand.
double whole_number(Generator& generator) {
  const double u = generator.uniform(0, 1);
  return u < 0.05 ? -2 : u < 0.30 ? -1 : u < 0.70 ? 0 : u < 0.95 ? 1 : 2;
}

Matrix whole_numbers(Generator& generator, Index rows, Index cols) {
  Matrix m(rows, cols);
  for (Index i = 0; i < rows; ++i) {
    for (Index j = 0; j < cols; ++j) m(i, j) = whole_number(generator);
  }
  return m;
}

// A row of whole numbers that is not all zeros: a token of zeros has zero scores with every key.
Matrix nonzero_row(Generator& generator, Index cols) {
  Matrix row = whole_numbers(generator, 1, cols);
  while (row.isZero(0)) row = whole_numbers(generator, 1, cols);
  return row;
}

// Larger files are not worked by hand, and a random draw of them is all but never degenerate:
// they are not checked, so that init stays instant at any size.
bool small_enough_to_check(Index L, Index E) {
  return E <= 128 && L * L * E <= (Index{1} << 22);
}

// An (E, E) weight of whole numbers that maps no token to zero: invertible.
Matrix invertible_whole_numbers(Generator& generator, Index E, bool check) {
  Matrix m = whole_numbers(generator, E, E);
  for (int draw = 0; check && draw < 1000 && Eigen::FullPivLU<Matrix>(m).rank() < E; ++draw) {
    m = whole_numbers(generator, E, E);
  }
  return m;
}

// What a draw makes of the trace: a row of X that makes it degenerate in some head — a query
// whose scores over the keys it may attend are all equal (its weights would be equal, whatever
// the numbers), or values whose rows are all equal (every context row would be the same) — and
// the widest spread of a query's scores over those keys, in any head.
struct Inspection {
  std::optional<Index> degenerate_row;
  double widest_spread = 0;
};

Inspection inspect(const InitialNumbers& n, Index heads, bool causal) {
  const Index L = n.x.rows(), E = n.x.cols(), d = E / heads;
  Inspection result;
  if (L < 2) return result;
  const Matrix q = n.x * n.in_proj.topRows(E).transpose();
  const Matrix k = n.x * n.in_proj.middleRows(E, E).transpose();
  const Matrix v = n.x * n.in_proj.bottomRows(E).transpose();
  for (Index h = 0; h < heads; ++h) {
    const Matrix scores = attention_scores(head_slice(q, h, d), head_slice(k, h, d));
    for (Index i = causal ? 1 : 0; i < L; ++i) {
      const auto row = scores.row(i).head(causal ? i + 1 : L);
      const double spread = row.maxCoeff() - row.minCoeff();
      if (spread == 0) result.degenerate_row = i;
      result.widest_spread = std::max(result.widest_spread, spread);
    }
    const Matrix v_h = head_slice(v, h, d);
    if ((v_h.rowwise() - v_h.row(0)).isZero(0)) result.degenerate_row = L - 1;
  }
  return result;
}

// One draw of X and the weights: no token all zeros, no weight matrix singular, and the tokens
// that make a head degenerate drawn again.
InitialNumbers draw_integers(Generator& generator, const InitOptions& options, Index L,
                             bool check) {
  const Index E = options.embed_dim;
  InitialNumbers n;
  n.x = Matrix(L, E);
  for (Index i = 0; i < L; ++i) n.x.row(i) = nonzero_row(generator, E);
  n.in_proj = Matrix(3 * E, E);
  for (Index block = 0; block < 3; ++block) {
    n.in_proj.middleRows(block * E, E) = invertible_whole_numbers(generator, E, check);
  }
  n.out_proj = invertible_whole_numbers(generator, E, check);
  // Drawing the offending token again (or, when that does not help, another one) changes its
  // query, key and value at once.
  for (int draw = 0; check && draw < 1000; ++draw) {
    const std::optional<Index> row = inspect(n, options.num_heads, options.causal).degenerate_row;
    if (!row) break;
    n.x.row(draw % 2 == 0 ? *row : (*row + 1 + draw / 2) % L) = nonzero_row(generator, E);
  }
  return n;
}

// Whole numbers in −2…2 that a class can work by hand (see init.hpp): of several draws that are
// not degenerate, the one whose scores spread least, so that no weight is all but 0 or 1.
InitialNumbers integer_numbers(Generator& generator, const InitOptions& options, Index L) {
  const Index E = options.embed_dim;
  const bool check = small_enough_to_check(L, E);
  const int draws = check && L * E * E <= 4096 ? 64 : 1;
  std::optional<InitialNumbers> best;
  double best_spread = 0;
  for (int draw = 0; draw < draws; ++draw) {
    InitialNumbers n = draw_integers(generator, options, L, check);
    const Inspection inspection = inspect(n, options.num_heads, options.causal);
    const bool usable = !check || !inspection.degenerate_row;
    if (usable && (!best || inspection.widest_spread < best_spread)) {
      best = std::move(n);
      best_spread = inspection.widest_spread;
    } else if (!best && draw == draws - 1) {
      best = std::move(n);  // none usable, which no test has met: the last, as it is
    }
  }
  return *best;
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

// What the file holds and where its numbers come from, for its "description".
std::string description(const InitOptions& options) {
  const Index d = options.embed_dim / options.num_heads;
  const auto root = static_cast<Index>(std::lround(std::sqrt(static_cast<double>(d))));
  const std::string scaling =
      d == 1 ? "so are the scaled scores (1/sqrt(d) = 1), and the softmax is the first stage "
               "whose numbers are not"
             : fmt::format(
                   "the scaling by 1/sqrt(d) = {} is the first stage whose numbers need "
                   "not be whole",
                   root * root == d ? fmt::format("1/{}", root) : fmt::format("1/sqrt({})", d));
  const std::string numbers =
      options.integers
          ? "X and the weights are whole numbers from -2 to 2 and the biases 0, so that Q, K, V "
            "and the scores are whole numbers too; " +
                scaling
          : "X uniform in [-1, 1), and weights initialised as nn.MultiheadAttention initialises "
            "them (Xavier-uniform in_proj_weight, out_proj with nn.Linear's default, zero "
            "biases)";
  return fmt::format("Written by attn-trace init{} with seed {}: {}.{} Edit any number.",
                     options.integers ? " --integers" : "", options.seed, numbers,
                     options.causal ? " The causal mask lets each token attend itself and the "
                                      "tokens before it."
                                    : "");
}

}  // namespace

std::string initial_input(const InitOptions& options) {
  const Index L = options.seq_len, E = options.embed_dim;
  assert(E % options.num_heads == 0);
  assert(options.tokens.empty() || static_cast<Index>(options.tokens.size()) == L);
  Generator generator(options.seed);
  const InitialNumbers numbers_drawn =
      options.integers ? integer_numbers(generator, options, L) : pytorch_numbers(generator, L, E);
  const Matrix& x = numbers_drawn.x;
  const Matrix& in_proj = numbers_drawn.in_proj;
  const Matrix& out_proj = numbers_drawn.out_proj;
  const std::vector<double> zeros(static_cast<std::size_t>(E), 0.0);

  const std::string name = fmt::format("attention over {} tokens, E = {}, {}", L, E,
                                       plural(options.num_heads, "head", "heads"));
  std::vector<std::string> fields = {
      fmt::format("  \"name\": {}", quoted(name)),
      fmt::format("  \"description\": {}", quoted(description(options))),
      fmt::format("  \"input\": {}", matrix(x, 2))};
  if (!options.tokens.empty()) {
    std::vector<std::string> labels;
    for (const std::string& token : options.tokens) labels.push_back(quoted(token));
    fields.push_back(fmt::format("  \"tokens\": [{}]", fmt::join(labels, ", ")));
  }
  fields.push_back(fmt::format("  \"num_heads\": {}", options.num_heads));
  if (options.causal) fields.push_back("  \"mask\": \"causal\"");
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
