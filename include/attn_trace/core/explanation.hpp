// An explanation of one number of a trace, as data: the formula, the terms with their actual
// numbers, and how they combine into the number ("0.2×0.5 + 0.1×(−0.3) + 0.1 = 0.17").
// teach/explain.hpp computes it (attn-trace explain CELL); render/explanation.hpp shows it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/stage_id.hpp"

namespace attn_trace {

// How the terms make the number.
enum class Combine {
  given,    // a number of the input: one term, itself
  copy,     // the same number moved (a head's slice, a merged column, an extra key): one term
  sum,      // the sum of the terms' values
  product,  // the product of the terms' values
  ratio,    // softmax: the numerator term's value over the sum of all terms' values
};

[[nodiscard]] std::string_view combine_name(Combine combine);

struct Term {
  std::string label;            // "X[am,0]·W_q[1,0]", "b_q[1]", "exp(scaled[am,good] − m)"
  std::vector<double> factors;  // the numbers multiplied to make `value` (one for a lone number)
  double value = 0;
};

struct Explanation {
  StageId stage = StageId::input;
  std::string tensor;
  std::vector<std::size_t> index;
  std::vector<std::string> index_labels;  // per axis: the token, or the number ("head 1")
  std::string formula;                    // "Q[i,c] = Σ_e X[i,e]·W_q[c,e] + b_q[c]"
  Combine combine = Combine::given;
  std::vector<Term> terms;
  std::size_t numerator = 0;       // ratio: the term on top
  std::vector<std::string> notes;  // where a copied number came from, which mask blocked, …
  double computed = 0;             // the terms, combined
  double result = 0;               // the number the trace holds
};

// Whether `computed` is the trace's number: equal within 1e-12 relative, or the same inf/nan.
[[nodiscard]] bool explanation_matches(const Explanation& explanation);

}  // namespace attn_trace
