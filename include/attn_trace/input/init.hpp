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
  bool causal = false;    // write "mask": "causal": query i attends keys j ≤ i
  bool integers = false;  // whole numbers a class can work by hand, not PyTorch's initialisation
};

// The JSON text of the input file: X uniform in [−1, 1) to 2 decimals; in_proj_weight
// Xavier-uniform, bound √(6 / (E + 3E)), and out_proj.weight uniform with bound 1/√E (nn.Linear's
// default), both to 4 decimals; zero biases. With `integers`, X and the weights are whole numbers
// in −2…2 instead, mostly 0 and ±1 (biases still 0), so that Q, K, V and the scores are whole
// numbers and the scaling by 1/√d is the first stage that need not be. For files small enough to
// work by hand (L·E² ≤ 4096) it keeps, of 64 draws from the same generator (so still one file per
// seed), the one whose scores spread least over a query's keys, so that no weight is all but 0
// or 1; and every draw (checked up to L²·E = 2²² and E = 128) has invertible weight matrices, no
// token of zeros, and in every head no query whose scores are all equal (its weights would be
// too) and no values whose rows are all equal. In "math" layout the same matrices are written as
// W_q, W_k, W_v, W_o (in, out). REQUIRES: num_heads divides embed_dim; tokens empty or L long.
[[nodiscard]] std::string initial_input(const InitOptions& options);

}  // namespace attn_trace
