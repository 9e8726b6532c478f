// Renderers of an explanation (core/explanation.hpp): the arithmetic written out as a learner
// writes it by hand, or the same as JSON data.
#pragma once

#include <ostream>

#include "attn_trace/core/explanation.hpp"

namespace attn_trace {

// "Q[i,c] = Σ_e X[i,e]·W_q[c,e] + b_q[c] = 0.2×0.5 + 0.1×(−0.3) + 0.1 = 0.17", with every term, or
// the first and last few when there are more than 8; then whether the trace holds that number.
void render_explanation_text(const Explanation& explanation, int precision, std::ostream& out);

// { "stage", "tensor", "index", "labels", "formula", "combine", "terms": [{"label", "factors",
//   "value"}], "numerator" (ratio only), "notes", "computed", "result", "matches" }; inf and nan
// as the strings "inf", "-inf", "nan", as in the trace export.
void render_explanation_json(const Explanation& explanation, std::ostream& out);

}  // namespace attn_trace
