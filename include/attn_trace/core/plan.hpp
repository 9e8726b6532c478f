// TracePlan: what one run computes. A run that shows less computes less: the stages up to --until
// and only those a shown stage needs (--stages), one slice after the projections (--focus), and,
// for a walkthrough that summarises long tensors, the score-like tensors held only in the rows it
// shows. Every number a plan computes equals the whole trace's, bit for bit: the score stages are
// always computed in the same tiles of queries (tracer.cpp), whatever the plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/stage_id.hpp"

namespace attn_trace {

// One slice of the trace, as positions in the whole trace (teach/focus.hpp resolves what the user
// typed). An axis left empty is not cut.
struct TraceSlice {
  std::optional<std::size_t> batch = {}, head = {}, query = {};

  [[nodiscard]] bool any() const { return batch || head || query; }
};

// How a walkthrough summarises a long tensor: above `threshold` numbers it shows only the first
// and last `edge` rows of each block (and of its columns and blocks, which do not matter here),
// and its closing summary names the strongest key of every query up to `summary_queries`
// queries, else of the first and last `edge`.
struct Summarising {
  std::size_t threshold = 0;
  std::size_t edge = 0;
  std::size_t summary_queries = 0;
};

struct TracePlan {
  StageSelection shown = {};  // the stages the renderer shows (none cut: every stage)
  TraceSlice focus = {};      // --focus: the tensors cut to this slice
  std::optional<Summarising> summarising = {};  // a walkthrough without --full
  // --weighted-limit: a renderer leaves out a weighted_values of more numbers (trace.hpp's
  // left_out), so it is not made at all; the whole trace makes it whatever its size.
  std::size_t weighted_limit = SIZE_MAX;

  // The whole trace: what explain, check and the JSON export of everything need.
  [[nodiscard]] bool whole() const { return shown.all() && !focus.any() && !summarising; }
};

// The stages `plan` computes for `spec`, in paper order: every stage shown, and every stage before
// one shown that it is computed from. input and weighted_values are never needed by another
// stage; a stage the spec does not have (split_heads with one head) is never computed.
[[nodiscard]] std::vector<StageId> stages_computed(const Spec& spec, const TracePlan& plan);

// The rows of each block of a score-like tensor ((…, L, S): scores, scaled, masks, weights) that
// `plan` holds: all rows (nothing), or, for a summarised walkthrough of a tensor of `size`
// numbers, the first and last `edge` of its `rows` when it has more than `summary_queries` (so
// that the rows held are the rows the tables and the summary show).
[[nodiscard]] std::optional<std::vector<std::size_t>> held_rows(const TracePlan& plan,
                                                                std::size_t size, std::size_t rows);

}  // namespace attn_trace
