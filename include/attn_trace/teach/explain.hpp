// Explain one number of a trace: the arithmetic behind it, with the actual numbers, as the
// tutorials write it by hand ("0.2×0.5 + 0.1×(−0.3) + 0.1 = 0.17"). `attn-trace explain CELL`.
//
// An explanation is data (a formula, the terms and how they combine); render_explain.hpp turns it
// into text or JSON. It is computed from the spec's weights and the trace's own tensors, then
// checked against the number the trace holds.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/spec.hpp"
#include "attn_trace/trace.hpp"

namespace attn_trace {

// A cell as the user names it: "scores[0,2]", "weights[am,good]", "split_heads.Q[1,0,1]".
struct CellRef {
  std::string stage;               // empty when not given
  std::string tensor;              // "Q", "scores", …
  std::vector<std::string> index;  // as typed: whole numbers, or token names on token axes
};

// Parses CELL; throws Error when it is not of the form [STAGE.]TENSOR[I,J,…].
[[nodiscard]] CellRef parse_cell(std::string_view text);

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
  std::string stage, tensor;
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

// The arithmetic behind `cell` of `trace`, which was traced from `spec`. Throws Error for an
// unknown tensor (listing the valid names), a wrong number of indices, or an index out of range
// (giving the valid range and tokens).
[[nodiscard]] Explanation explain(const Spec& spec, const Trace& trace, const CellRef& cell);

// Whether `computed` is the trace's number: equal within 1e-12 relative, or the same inf/nan.
[[nodiscard]] bool explanation_matches(const Explanation& explanation);

}  // namespace attn_trace
