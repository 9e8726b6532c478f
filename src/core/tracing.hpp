// A trace being built under a plan: what the stage functions of tracer.cpp share. Private to core.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "attn_trace/core/plan.hpp"
#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/trace.hpp"
#include "layout.hpp"
#include "stage_words.hpp"

namespace attn_trace {

struct Tracing {
  const Spec& spec;
  const TracePlan& plan;
  // The whole trace's sizes, whatever the plan: the stage words describe the whole trace.
  const Layout layout;
  Trace trace;
  std::vector<StageId> computed;  // stages_computed(spec, plan)
  AxisKeep keep;                  // the focus, by axis, for cut_tensor
  std::vector<Index> batches;     // the batches computed: the focused one, or every one
  // The heads the score stages compute: the focused one, unless a later stage merges them all.
  std::vector<Index> heads;
  // The first query of each tile of queries the score stages compute (score_stages.hpp): every
  // tile, or those holding a focused query or the rows a summarising walkthrough shows.
  std::vector<Index> tiles;
  // The working tensors, whole-shaped (only the computed batches filled): Q, K and V, split into
  // heads once there are heads (and K, V extended by the extra keys); then the context.
  Tensor Q, K, V, context;
  bool blocked_rows = false;  // a query has every key blocked: its weights are nan

  Tracing(const Spec& s, const TracePlan& p);

  [[nodiscard]] const Sizes& n() const { return layout.n; }
  [[nodiscard]] bool computes(StageId id) const;
  // Computed, and shown by the renderer: recorded with its tensors.
  [[nodiscard]] bool shows(StageId id) const;

  // Stage `id` begins: per_batch and per_head compute only when the plan computes it.
  void start(StageId id) { current_ = id; }

  // One (rows × cols) block per batch computed: block(b); a tensor that holds no numbers when
  // the current stage is not computed.
  [[nodiscard]] Tensor per_batch(std::string name, std::vector<Axis> axes,
                                 std::vector<std::size_t> dims,
                                 const std::function<Matrix(Index b)>& block) const;
  // One block per batch computed and head: block(b, h), on every core.
  [[nodiscard]] Tensor per_head(std::string name, std::vector<Axis> axes,
                                std::vector<std::size_t> dims,
                                const std::function<Matrix(Index b, Index h)>& block) const;

  // The tensors as the current stage records them: cut to the focus, and, for a tensor computed
  // query by query (`row_local`: the context and after), held only in the rows a summarising
  // walkthrough shows. Nothing when the stage is not shown.
  [[nodiscard]] std::vector<Tensor> kept(std::vector<Tensor> tensors, bool row_local) const;
  // The rows of each block a row-local tensor of `size` numbers (once cut) holds.
  [[nodiscard]] std::optional<std::vector<std::size_t>> rows_held(std::size_t size) const;

  // The shape of a tensor like the scores (…, L, S), holding no numbers.
  [[nodiscard]] Tensor scores_shaped(std::string name) const;

  // Adds a stage with these words and tensors (none when it is not shown).
  void record(StageId id, StageWords words, std::vector<Tensor> tensors);
  void skip(StageId id) { trace.skipped.push_back({id, std::string(skip_reason(id))}); }

 private:
  StageId current_ = StageId::input;
};

}  // namespace attn_trace
