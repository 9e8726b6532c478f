// A ready-to-edit input file: random tokens and weights initialised the way
// nn.MultiheadAttention initialises its own, from a seeded generator, so that a seed always gives
// the same file (on every machine: the generator is specified here, not by the standard library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attn_trace/core/matrix.hpp"
#include "attn_trace/core/spec.hpp"

namespace attn_trace {

struct InitOptions {
  Index seq_len = 3, embed_dim = 4, num_heads = 1;
  std::vector<std::string> tokens;  // L labels, or none
  std::uint64_t seed = 0;
  WeightLayout layout = WeightLayout::torch;
};

// The JSON text of the input file: X uniform in [−1, 1) to 2 decimals; in_proj_weight
// Xavier-uniform, bound √(6 / (E + 3E)), and out_proj.weight uniform with bound 1/√E (nn.Linear's
// default), both to 4 decimals; zero biases. In "math" layout the same matrices are written as
// W_q, W_k, W_v, W_o (in, out). REQUIRES: num_heads divides embed_dim; tokens empty or L long.
[[nodiscard]] std::string initial_input(const InitOptions& options);

}  // namespace attn_trace
