// attn-trace init's file: deterministic for a seed, initialised within PyTorch's bounds, and the
// same attention in either layout.
#include <algorithm>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/init.hpp"
#include "attn_trace/input/load.hpp"

using namespace attn_trace;

TEST_CASE("a seed always gives the same file, another seed another", "[init]") {
  InitOptions options;
  options.seed = 42;
  CHECK(initial_input(options) == initial_input(options));
  InitOptions other = options;
  other.seed = 43;
  CHECK(initial_input(options) != initial_input(other));
}

TEST_CASE("the weights are within nn.MultiheadAttention's initial bounds, the biases zero",
          "[init]") {
  InitOptions options;
  options.seq_len = 5;
  options.embed_dim = 8;
  options.num_heads = 2;
  options.tokens = {"a", "b", "c", "d", "e"};
  options.seed = 3;
  const Spec spec = load_spec(initial_input(options), "init.json");
  CHECK(spec.q_len() == 5);
  CHECK(spec.embed_dim() == 8);
  CHECK(spec.num_heads == 2);
  CHECK(spec.tokens.front() == options.tokens);
  CHECK(spec.inputs.front().cwiseAbs().maxCoeff() <= 1.0);
  // xavier_uniform_ on the (3E, E) in_proj_weight: bound √(6 / (E + 3E)), here √(6/32) = 0.433.
  const double in_bound = std::sqrt(6.0 / 32.0);
  for (const auto* p : {&spec.q_proj, &spec.k_proj, &spec.v_proj}) {
    CHECK((*p)->weight.cwiseAbs().maxCoeff() <= in_bound + 5e-5);  // + rounding to 4 decimals
    CHECK((*p)->bias->isZero());
  }
  // nn.Linear's default for out_proj: bound 1/√E.
  CHECK(spec.out_proj->weight.cwiseAbs().maxCoeff() <= 1 / std::sqrt(8.0) + 5e-5);
  CHECK(spec.out_proj->bias->isZero());
  // Not degenerate: the numbers spread over most of the range.
  CHECK(spec.q_proj->weight.cwiseAbs().maxCoeff() > in_bound / 2);
}

TEST_CASE("the math layout writes the same attention as the torch layout", "[init]") {
  InitOptions torch;
  torch.seed = 11;
  torch.num_heads = 2;
  InitOptions math = torch;
  math.layout = WeightLayout::math;
  const Trace a = trace_attention(load_spec(initial_input(torch), "torch.json"));
  const Trace b = trace_attention(load_spec(initial_input(math), "math.json"));
  CHECK(a.find_stage(StageId::out_proj)->tensors[0].data ==
        b.find_stage(StageId::out_proj)->tensors[0].data);
}

namespace {

bool whole_in_range(const Matrix& m) {
  return (m.array() == m.array().round()).all() && m.cwiseAbs().maxCoeff() <= 2;
}

bool whole(const std::vector<double>& data) {
  return std::all_of(data.begin(), data.end(), [](double v) { return v == std::round(v); });
}

const std::vector<double>& tensor_data(const Trace& trace, StageId stage, std::size_t tensor = 0) {
  return trace.find_stage(stage)->tensors.at(tensor).data;
}

}  // namespace

TEST_CASE("init --integers: whole numbers in −2…2, zero biases, one file per seed", "[init]") {
  InitOptions options;
  options.integers = true;
  options.seq_len = 4;
  options.embed_dim = 4;
  options.num_heads = 2;
  options.seed = 7;
  const std::string text = initial_input(options);
  CHECK(text == initial_input(options));
  InitOptions other = options;
  other.seed = 8;
  CHECK(text != initial_input(other));
  const Spec spec = load_spec(text, "integers.json");
  CHECK(whole_in_range(spec.inputs.front()));
  for (const auto* p : {&spec.q_proj, &spec.k_proj, &spec.v_proj, &spec.out_proj}) {
    CHECK(whole_in_range((*p)->weight));
    CHECK((*p)->bias->isZero());
  }
  const Matrix& w = spec.q_proj->weight;
  CHECK(w.cwiseAbs().maxCoeff() >= 1);
  // The same numbers in the math layout, transposed.
  InitOptions math = options;
  math.layout = WeightLayout::math;
  CHECK(load_spec(initial_input(math), "math.json").q_proj->weight == w);
}

TEST_CASE(
    "init --integers: whole numbers up to the scores, and the scaling is the first stage "
    "that is not",
    "[init]") {
  InitOptions options;
  options.integers = true;
  options.embed_dim = 4;  // one head: d = 4, so the scaled scores are halves
  const Trace trace = trace_attention(load_spec(initial_input(options), "integers.json"));
  CHECK(whole(tensor_data(trace, StageId::input)));
  for (std::size_t t = 0; t < 3; ++t) CHECK(whole(tensor_data(trace, StageId::projections, t)));
  CHECK(whole(tensor_data(trace, StageId::scores)));
  const std::vector<double>& scaled = tensor_data(trace, StageId::scaling);
  CHECK_FALSE(whole(scaled));
  std::vector<double> doubled;
  for (double v : scaled) doubled.push_back(2 * v);
  CHECK(whole(doubled));
  CHECK_THAT(initial_input(options), Catch::Contains("1/sqrt(d) = 1/2 is the first stage"));
}

TEST_CASE("init --integers never makes a query's weights all equal, nor a head's values",
          "[init]") {
  std::size_t rows_checked = 0;
  for (const Index E : {1, 2, 4, 6}) {
    for (const Index H : {Index{1}, Index{2}}) {
      if (E % H != 0) continue;
      for (const bool causal : {false, true}) {
        for (std::uint64_t seed = 0; seed < 10; ++seed) {
          InitOptions options;
          options.integers = true;
          options.embed_dim = E;
          options.num_heads = H;
          options.seq_len = 2 + static_cast<Index>(seed % 4);
          options.causal = causal;
          options.seed = seed;
          INFO("E " << E << ", H " << H << ", causal " << causal << ", seed " << seed);
          const Trace trace = trace_attention(load_spec(initial_input(options), "i.json"));
          const Tensor& weights = trace.find_stage(StageId::softmax)->tensors.at(0);
          const Index L = options.seq_len;
          for (std::size_t block = 0; block < weights.block_count(); ++block) {
            const auto w = weights.block(block);
            for (Index i = causal ? 1 : 0; i < L; ++i) {
              const Index keys = causal ? i + 1 : L;
              CHECK(w.row(i).head(keys).maxCoeff() > w.row(i).head(keys).minCoeff());
              ++rows_checked;
            }
          }
          const Tensor& v = *std::find_if(
              trace.find_stage(H > 1 ? StageId::split_heads : StageId::projections)
                  ->tensors.begin(),
              trace.find_stage(H > 1 ? StageId::split_heads : StageId::projections)->tensors.end(),
              [](const Tensor& t) { return t.name.starts_with("V"); });
          for (std::size_t block = 0; block < v.block_count(); ++block) {
            const auto values = v.block(block);
            CHECK_FALSE((values.rowwise() - values.row(0)).isZero(0));
          }
        }
      }
    }
  }
  CHECK(rows_checked > 300);
}

TEST_CASE("init --mask causal writes \"mask\": \"causal\", the lower triangle", "[init]") {
  InitOptions options;
  options.causal = true;
  options.seq_len = 4;
  const std::string text = initial_input(options);
  CHECK_THAT(text, Catch::Contains("\"mask\": \"causal\""));
  const Spec spec = load_spec(text, "causal.json");
  REQUIRE(spec.masks.mask.has_value());
  CHECK(spec.masks.mask->causal);
  const Matrix& keep = spec.masks.mask->keep.at(0);
  REQUIRE(keep.rows() == 4);
  REQUIRE(keep.cols() == 4);
  for (Index i = 0; i < 4; ++i) {
    for (Index j = 0; j < 4; ++j) CHECK(keep(i, j) == (j <= i ? 1.0 : 0.0));
  }
  // The same numbers as without the mask: only the mask is new.
  InitOptions plain = options;
  plain.causal = false;
  CHECK(load_spec(initial_input(plain), "plain.json").inputs == spec.inputs);
  // Query 0 attends only itself.
  const Trace trace = trace_attention(spec);
  CHECK(tensor_data(trace, StageId::softmax)[0] == 1.0);
}

TEST_CASE("init --integers: no weight of a default file is all but 0 or 1", "[init]") {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    InitOptions options;
    options.integers = true;
    options.seed = seed;
    const Trace trace = trace_attention(load_spec(initial_input(options), "integers.json"));
    const std::vector<double>& weights = tensor_data(trace, StageId::softmax);
    REQUIRE(weights.size() == 9);
    INFO("seed " << seed);
    CHECK(*std::min_element(weights.begin(), weights.end()) > 0.01);
    CHECK(*std::max_element(weights.begin(), weights.end()) < 0.99);
  }
}
