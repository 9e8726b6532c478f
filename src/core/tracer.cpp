// The driver: attention in paper order, one function per stage. Each stage function computes its
// tensors with the pure math of stages.hpp, block by block over the batches and heads (Layout),
// and records them with their words (stage_words.hpp) into the trace. The stages from the scores
// to the context run together, tile by tile of queries (score_stages.cpp), so that a plan that
// shows little computes little (plan.hpp).
#include "attn_trace/core/tracer.hpp"

#include <functional>
#include <memory>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stages.hpp"
#include "attn_trace/core/text.hpp"
#include "score_stages.hpp"
#include "stage_words.hpp"
#include "tracing.hpp"

namespace attn_trace {
namespace {

using enum Axis;

// 1. X: one row of E numbers per token (and, in cross-attention, the keys' and values' rows).
void trace_input(Tracing& t) {
  t.start(StageId::input);
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  const auto rows = [&](std::string name, Axis axis, const std::vector<Matrix>& source) {
    return t.per_batch(std::move(name), {axis, feature},
                       {count(source.front().rows()), count(source.front().cols())},
                       [&](Index b) { return source[count(b)]; });
  };
  std::vector<Tensor> inputs;
  inputs.push_back(t.per_batch("X", {query, feature}, {count(n.L), count(n.E)},
                               [&](Index b) { return spec.inputs[count(b)]; }));
  if (spec.key_source == KeySource::kv_input) {
    inputs.push_back(rows(std::string(source_name(spec.key_source, 'K')), key, spec.key_inputs));
  }
  if (spec.key_source == KeySource::separate) {
    inputs.push_back(rows(std::string(source_name(spec.key_source, 'K')), key, spec.key_inputs));
    inputs.push_back(rows(std::string(source_name(spec.key_source, 'V')), key, spec.value_inputs));
  }
  StageWords words = input_words(t.layout, inputs);
  t.record(StageId::input, std::move(words), t.kept(std::move(inputs), false));
}

// 2. Q = X·W_qᵀ + b_q, K and V likewise from the key and value inputs; or the inputs themselves
//    when no weights were given. (L, D), (S, D), (S, D).
void trace_projections(Tracing& t) {
  t.start(StageId::projections);
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  const auto projection = [&](std::string name, Axis rows, const std::optional<Linear>& linear,
                              const std::function<const Matrix&(Index b)>& source) {
    const Index count_rows = rows == query ? n.L : n.S_given;
    return t.per_batch(std::move(name), {rows, feature}, {count(count_rows), count(n.D)},
                       [&](Index b) { return linear ? project(source(b), *linear) : source(b); });
  };
  t.Q = projection("Q", query, spec.q_proj,
                   [&](Index b) -> const Matrix& { return spec.inputs[count(b)]; });
  t.K = projection("K", key, spec.k_proj,
                   [&](Index b) -> const Matrix& { return spec.key_input(b); });
  t.V = projection("V", key, spec.v_proj,
                   [&](Index b) -> const Matrix& { return spec.value_input(b); });
  StageWords words = projection_words(spec, t.layout, t.Q);
  t.record(StageId::projections, std::move(words), t.kept({t.Q, t.K, t.V}, false));
}

// 2b. nn.MultiheadAttention's extra keys: K' = [K; bias_k; 0] and V' = [V; bias_v; 0], (S, D).
void trace_extra_keys(Tracing& t) {
  t.start(StageId::extra_keys);
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  const auto extend = [&](const Tensor& given, const std::optional<Vector>& bias) {
    return t.per_batch(given.name, {key, feature}, {count(n.S), count(n.D)}, [&](Index b) {
      return append_keys(given.block(count(b)), bias, spec.add_zero_attn);
    });
  };
  // Q stays in the projections stage; K and V from here on are the extended ones.
  t.K = extend(t.K, spec.bias_k);
  t.V = extend(t.V, spec.bias_v);
  StageWords words = extra_key_words(spec, t.layout, t.K);
  t.record(StageId::extra_keys, std::move(words), t.kept({t.K, t.V}, false));
}

// 3. Head h takes columns h·d … (h+1)·d − 1 of Q, K and V: (H, L, d), (H, S, d), (H, S, d).
void trace_split_heads(Tracing& t) {
  t.start(StageId::split_heads);
  const Sizes& n = t.n();
  const auto split = [&](const Tensor& whole, Axis rows) {
    return t.per_head(
        whole.name, {rows, feature}, {count(rows == query ? n.L : n.S), count(n.d)},
        [&](Index b, Index head) { return head_slice(whole.block(count(b)), head, n.d); });
  };
  t.Q = split(t.Q, query);
  t.K = split(t.K, key);
  t.V = split(t.V, key);
  StageWords words = split_words(t.layout, t.Q, t.K);
  t.record(StageId::split_heads, std::move(words), t.kept({t.Q, t.K, t.V}, false));
}

// 4. scores = Q_h·K_hᵀ: every query against every key, (H, L, S).
void trace_scores(Tracing& t, ScoreTensors& s) {
  t.start(StageId::scores);
  StageWords words = score_words(t.layout, t.scores_shaped("scores"));
  t.record(StageId::scores, std::move(words), s.take(ScoreTensors::scores));
}

// 5. scaled = scores × 1/√d (or the scale the input chose).
void trace_scaling(Tracing& t, ScoreTensors& s) {
  t.start(StageId::scaling);
  StageWords words = scaling_words(t.spec, t.layout, t.scores_shaped("scaled"));
  t.record(StageId::scaling, std::move(words), s.take(ScoreTensors::scaled));
}

// 5b. masked = scaled + M, M = −∞ where a mask blocks the key: shown with the masks as given.
void trace_masking(Tracing& t, ScoreTensors& s) {
  t.start(StageId::masking);
  const Spec& spec = t.spec;
  std::vector<Tensor> tensors;
  if (t.shows(StageId::masking)) {
    tensors = t.kept(given_masks(spec.masks, spec.batched, spec.batch_size(), t.n().H), false);
    for (Tensor& tensor : s.take(ScoreTensors::additive)) tensors.push_back(std::move(tensor));
    for (Tensor& tensor : s.take(ScoreTensors::masked)) tensors.push_back(std::move(tensor));
  }
  StageWords words = masking_words(spec, t.layout, t.scores_shaped("masked"));
  t.record(StageId::masking, std::move(words), std::move(tensors));
}

// 6. weights = the softmax of each row of the logits: each row sums to 1.
void trace_softmax(Tracing& t, ScoreTensors& s) {
  t.start(StageId::softmax);
  StageWords words =
      softmax_words(t.layout, t.scores_shaped("weights"), t.spec.masks.any() ? "masked" : "scaled");
  t.record(StageId::softmax, std::move(words), s.take(ScoreTensors::weights));
  if (auto warning = blocked_row_warning(t.spec, s.blocked, t.layout.heads())) {
    t.trace.warnings.push_back("softmax: " + *warning);
    t.blocked_rows = true;
  }
}

// 7. weighted[i,j,:] = weights[i,j] · V[j,:]: one (S, d) block per query. Held when small; else
//    each block is computed when a renderer asks for it, from the weights and V_h it needs (held
//    by the tensor's function: a generated tensor must not depend on this trace's state).
void trace_weighted_values(Tracing& t, ScoreTensors& s) {
  t.start(StageId::weighted_values);
  const Sizes& n = t.n();
  std::vector<Tensor> tensors;
  if (t.shows(StageId::weighted_values)) {
    tensors.push_back(weighted_tensor(t, std::move(s.weights_for_weighted)));
  }
  t.V = Tensor{};  // its last use
  StageWords words =
      weighted_words(t.layout, t.layout.shaped("weighted", true, {query, key, feature},
                                               {count(n.L), count(n.S), count(n.d)}));
  t.record(StageId::weighted_values, std::move(words), std::move(tensors));
}

// 8. context[i,:] = Σ_j weighted[i,j,:], which is weights·V: (H, L, d). Computed with the scores,
//    tile by tile.
void trace_summation(Tracing& t) {
  t.start(StageId::summation);
  const Sizes& n = t.n();
  if (!t.computes(StageId::summation)) {
    t.context = t.layout.shaped("context", true, {query, feature}, {count(n.L), count(n.d)});
  }
  StageWords words = summation_words(t.layout, t.context);
  t.record(StageId::summation, std::move(words), t.kept({t.context}, true));
}

// 9. The heads side by side again: (L, D).
void trace_merge_heads(Tracing& t) {
  t.start(StageId::merge_heads);
  const Sizes& n = t.n();
  t.context = t.per_batch("context", {query, feature}, {count(n.L), count(n.D)}, [&](Index b) {
    std::vector<Matrix> heads;
    for (Index head = 0; head < n.H; ++head) {
      heads.emplace_back(t.context.block(t.layout.head_block(b, head)));
    }
    return merge_heads(heads);
  });
  StageWords words = merge_words(t.layout, t.context);
  t.record(StageId::merge_heads, std::move(words), t.kept({t.context}, true));
}

// 10. output = context·W_oᵀ + b_o: (L, E).
void trace_out_proj(Tracing& t) {
  t.start(StageId::out_proj);
  const Linear& out_proj = *t.spec.out_proj;
  Tensor output =
      t.per_batch("output", {query, feature}, {count(t.n().L), count(out_proj.weight.rows())},
                  [&](Index b) { return project(t.context.block(count(b)), out_proj); });
  StageWords words = out_proj_words(t.spec, t.layout, output);
  t.record(StageId::out_proj, std::move(words), t.kept({std::move(output)}, true));
}

}  // namespace

Trace trace_attention(const Spec& spec, const TracePlan& plan) {
  Tracing t(spec, plan);
  const bool heads = t.n().multi_head();

  trace_input(t);        // X                                  (L, E)
  trace_projections(t);  // Q, K, V = X·Wᵀ + b                  (L, D), (S, D), (S, D)
  if (spec.extra_keys() > 0) {
    trace_extra_keys(t);  // K, V ← [K; bias_k; 0], [V; bias_v; 0]
  } else {
    t.skip(StageId::extra_keys);
  }
  if (heads) {
    trace_split_heads(t);  // Q_h, K_h, V_h                     (H, L, d), (H, S, d)
  } else {
    t.skip(StageId::split_heads);
  }
  // From here on, every tensor has one block per batch and head, computed tile by tile.
  ScoreTensors scores = compute_score_stages(t);
  trace_scores(t, scores);   // scores = Q_h·K_hᵀ                       (H, L, S)
  trace_scaling(t, scores);  // scaled = scores × 1/√d
  if (spec.masks.any()) {
    trace_masking(t, scores);  // masked = scaled + M
  } else {
    t.skip(StageId::masking);
  }
  trace_softmax(t, scores);          // weights: each row sums to 1 (or is nan, every key blocked)
  trace_weighted_values(t, scores);  // weighted[i,j,:] = weights[i,j]·V_h[j,:]   (H, L, S, d)
  trace_summation(t);                // context = Σ_j weighted = weights·V_h      (H, L, d)
  if (heads) {
    trace_merge_heads(t);  // context = [context_0 | … | context_H−1]    (L, D)
  } else {
    t.skip(StageId::merge_heads);
  }
  if (spec.out_proj) {
    trace_out_proj(t);  // output = context·W_oᵀ + b_o                  (L, E)
  } else {
    t.skip(StageId::out_proj);
  }

  if (auto warning = non_finite_warning(spec, t.trace.stages, t.blocked_rows)) {
    t.trace.warnings.push_back(std::move(*warning));
  }
  return std::move(t.trace);
}

Trace trace_attention(const Spec& spec) {
  return trace_attention(spec, TracePlan{});
}

Trace trace_header(const Spec& spec) {
  const TracePlan plan;
  return Tracing(spec, plan).trace;
}

}  // namespace attn_trace
