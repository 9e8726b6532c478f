// The NumPy export: the trace as an .npz archive that np.load reads with NumPy alone (no pickle).
// Every tensor of every stage shown is a float64 C-order array named "STAGE.TENSOR"
// ("softmax.weights", member softmax.weights.npy), of its full shape; "trace.json" is a 0-d
// string array holding the JSON export (json.hpp) without the numbers: its config, tokens, notes,
// warnings, skipped stages, published checks, focus, and each stage's words and each tensor's
// name, axes and shape, to label a notebook's plots. The format is docs/trace-format.md's
// "The NumPy export".
#pragma once

#include <ostream>
#include <string>

#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/json.hpp"

namespace attn_trace {

// The array name of `tensor` of `stage`: "softmax.weights".
[[nodiscard]] std::string npz_array_name(const Stage& stage, const Tensor& tensor);

// The document the "trace.json" array holds: render_json's, with each tensor's "data" replaced by
// "array" (its array name) — or "omitted", as there — and "boolean": true on a tensor whose 1 and
// 0 stand for true and false.
[[nodiscard]] std::string npz_trace_json(const Trace& trace, const JsonOptions& options);

// Writes `trace` to `out` as an .npz: "trace.json" first, then the arrays in the trace's order,
// those of the stages options.stages shows; weighted_values only within options.weighted_limit,
// computed one block at a time when the trace generates it. The zip's members are stored, not
// compressed. Throws std::system_error (with its errno) once a write to `out` has failed.
void render_npz(const Trace& trace, const JsonOptions& options, std::ostream& out);

}  // namespace attn_trace
