// The JSON export: the whole trace as one document, written as it goes (no document tree is
// built). The format is documented in docs/trace-format.md and docs/trace.schema.json.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "attn_trace/core/trace.hpp"

namespace attn_trace {

struct JsonOptions {
  StageSelection stages;                                // --stages and --until
  std::size_t weighted_limit = default_weighted_limit;  // larger weighted_values are left out
};

// The format's version: a reader can rely on every field of docs/trace-format.md for it.
inline constexpr int trace_format_version = 1;

// Writes `trace` to `out` as one JSON document: its config, tokens, notes, warnings, skipped stages
// and published checks, then each stage that options.stages shows with every tensor's numbers (a
// tensor above options.weighted_limit is "omitted", with why). inf and nan are the strings "inf",
// "-inf", "nan". Throws std::system_error (with its errno) once a write to `out` has failed (disk
// full), rather than format the rest; a failure in the last writes shows only in `out`'s state,
// which the caller checks.
void render_json(const Trace& trace, const JsonOptions& options, std::ostream& out);

}  // namespace attn_trace
