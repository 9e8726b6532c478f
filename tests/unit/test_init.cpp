// attn-trace init's file: deterministic for a seed, initialised within PyTorch's bounds, and the
// same attention in either layout.
#include <cmath>

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
