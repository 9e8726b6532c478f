// The driver: attention in paper order, one function per stage. Each stage function computes its
// tensors with the pure math of stages.hpp, block by block over the batches and heads (Layout),
// and records them with their words (stage_words.hpp) into the trace.
#include "attn_trace/core/tracer.hpp"

#include <functional>
#include <memory>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stages.hpp"
#include "attn_trace/core/text.hpp"
#include "layout.hpp"
#include "stage_words.hpp"

namespace attn_trace {
namespace {

using enum Axis;

// A trace being built, and the tensors the next stage reads. The pointers point into
// trace.stages, which is reserved up front, so that recording a stage moves none of them.
struct Tracing {
  const Spec& spec;
  const Layout layout;
  Trace trace;
  const Tensor* Q = nullptr;                          // (L, D): the projected queries
  const Tensor* K = nullptr;                          // (S, D): the keys, the extra ones included
  const Tensor* V = nullptr;                          // (S, D)
  const Tensor* Q_h = nullptr;                        // (H, L, d) with heads, else Q
  const Tensor* K_h = nullptr;                        // (H, S, d) with heads, else K
  const Tensor* V_h = nullptr;                        // (H, S, d) with heads, else V
  const Tensor *scores = nullptr, *scaled = nullptr;  // (H, L, S)
  const Tensor* additive = nullptr;                   // (H, L, S), with masks only
  const Tensor* logits = nullptr;                     // what the softmax reads: scaled, or masked
  const Tensor* weights = nullptr;                    // (H, L, S)
  const Tensor* context = nullptr;                    // (H, L, d), then merged (L, D)
  bool blocked_rows = false;  // a query has every key blocked: its weights are nan

  explicit Tracing(const Spec& s);

  const Sizes& n() const { return layout.n; }

  // Adds a stage with these words and tensors, and returns it.
  const Stage& record(StageId id, StageWords words, std::vector<Tensor> tensors) {
    std::string title = words.title.empty() ? std::string(stage_info(id).title) : words.title;
    return trace.stages.emplace_back(Stage{.id = id,
                                           .title = std::move(title),
                                           .formula = std::move(words.formula),
                                           .shapes = std::move(words.shapes),
                                           .tensors = std::move(tensors),
                                           .note = std::move(words.note)});
  }
  void skip(StageId id) { trace.skipped.push_back({id, std::string(skip_reason(id))}); }
};

// The trace's header: names, sizes, tokens, and what the loader noted.
Tracing::Tracing(const Spec& s) : spec(s), layout(Sizes::of(s)) {
  const Sizes& sizes = layout.n;
  trace.name = spec.name;
  trace.description = spec.description;
  trace.source = spec.source;
  trace.config = {.batch = spec.batched ? std::optional<Index>(sizes.B) : std::nullopt,
                  .q_len = sizes.L,
                  .kv_len = sizes.S,
                  .embed_dim = sizes.E,
                  .model_dim = sizes.D,
                  .num_heads = sizes.H,
                  .head_dim = sizes.d,
                  .scale = spec.scale(),
                  .scale_rule = spec.scale_rule,
                  .weight_layout = spec.weight_layout,
                  .learned_projections = spec.learned_projections(),
                  .out_proj = spec.out_proj.has_value(),
                  .key_source = spec.key_source,
                  .key_dim = spec.key_dim(),
                  .value_dim = spec.value_dim(),
                  .bias_kv = spec.bias_k.has_value(),
                  .zero_attn = spec.add_zero_attn,
                  .masks = {}};
  if (spec.masks.mask) trace.config.masks.emplace_back("mask");
  if (spec.masks.attn_mask) trace.config.masks.emplace_back("attn_mask");
  if (spec.masks.key_padding_mask) trace.config.masks.emplace_back("key_padding_mask");
  trace.tokens = spec.tokens;
  trace.kv_tokens = spec.kv_tokens;
  for (auto& labels : trace.kv_tokens) {
    if (spec.bias_k) labels.emplace_back("<bias_kv>");
    if (spec.add_zero_attn) labels.emplace_back("<zero_attn>");
  }
  trace.notes = spec.notes;
  trace.warnings = spec.warnings;
  trace.stages.reserve(all_stages().size());
}

// 1. X: one row of E numbers per token (and, in cross-attention, the keys' and values' rows).
void trace_input(Tracing& t) {
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  const auto rows = [&](std::string name, Axis axis, const std::vector<Matrix>& source) {
    return t.layout.per_batch(std::move(name), {axis, feature},
                              {count(source.front().rows()), count(source.front().cols())},
                              [&](Index b) { return source[count(b)]; });
  };
  std::vector<Tensor> inputs;
  inputs.push_back(t.layout.per_batch("X", {query, feature}, {count(n.L), count(n.E)},
                                      [&](Index b) { return spec.inputs[count(b)]; }));
  if (spec.key_source == KeySource::kv_input) {
    inputs.push_back(rows(std::string(source_name(spec.key_source, 'K')), key, spec.key_inputs));
  }
  if (spec.key_source == KeySource::separate) {
    inputs.push_back(rows(std::string(source_name(spec.key_source, 'K')), key, spec.key_inputs));
    inputs.push_back(rows(std::string(source_name(spec.key_source, 'V')), key, spec.value_inputs));
  }
  StageWords words = input_words(t.layout, inputs);
  t.record(StageId::input, std::move(words), std::move(inputs));
}

// 2. Q = X·W_qᵀ + b_q, K and V likewise from the key and value inputs; or the inputs themselves
//    when no weights were given. (L, D), (S, D), (S, D).
void trace_projections(Tracing& t) {
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  const auto projection = [&](std::string name, Axis rows, const std::optional<Linear>& linear,
                              const std::function<const Matrix&(Index b)>& source) {
    const Index count_rows = rows == query ? n.L : n.S_given;
    return t.layout.per_batch(
        std::move(name), {rows, feature}, {count(count_rows), count(n.D)},
        [&](Index b) { return linear ? project(source(b), *linear) : source(b); });
  };
  std::vector<Tensor> qkv;
  qkv.push_back(projection("Q", query, spec.q_proj,
                           [&](Index b) -> const Matrix& { return spec.inputs[count(b)]; }));
  qkv.push_back(projection("K", key, spec.k_proj,
                           [&](Index b) -> const Matrix& { return spec.key_input(b); }));
  qkv.push_back(projection("V", key, spec.v_proj,
                           [&](Index b) -> const Matrix& { return spec.value_input(b); }));
  StageWords words = projection_words(spec, t.layout, qkv.front());
  const Stage& stage = t.record(StageId::projections, std::move(words), std::move(qkv));
  t.Q = t.Q_h = &stage.tensors[0];
  t.K = t.K_h = &stage.tensors[1];
  t.V = t.V_h = &stage.tensors[2];
}

// 2b. nn.MultiheadAttention's extra keys: K' = [K; bias_k; 0] and V' = [V; bias_v; 0], (S, D).
void trace_extra_keys(Tracing& t) {
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  const auto extend = [&](const Tensor& given, const std::optional<Vector>& bias) {
    return t.layout.per_batch(given.name, {key, feature}, {count(n.S), count(n.D)}, [&](Index b) {
      return append_keys(given.block(count(b)), bias, spec.add_zero_attn);
    });
  };
  std::vector<Tensor> kv;
  kv.push_back(extend(*t.K, spec.bias_k));
  kv.push_back(extend(*t.V, spec.bias_v));
  StageWords words = extra_key_words(spec, t.layout, kv.front());
  // Q stays in the projections stage; K and V from here on are the extended ones.
  const Stage& stage = t.record(StageId::extra_keys, std::move(words), std::move(kv));
  t.K = t.K_h = &stage.tensors[0];
  t.V = t.V_h = &stage.tensors[1];
}

// 3. Head h takes columns h·d … (h+1)·d − 1 of Q, K and V: (H, L, d), (H, S, d), (H, S, d).
void trace_split_heads(Tracing& t) {
  const Sizes& n = t.n();
  const auto split = [&](const Tensor& whole, Axis rows) {
    return t.layout.per_head(
        whole.name, {rows, feature}, {count(rows == query ? n.L : n.S), count(n.d)},
        [&](Index b, Index head) { return head_slice(whole.block(count(b)), head, n.d); });
  };
  std::vector<Tensor> heads;
  heads.push_back(split(*t.Q, query));
  heads.push_back(split(*t.K, key));
  heads.push_back(split(*t.V, key));
  StageWords words = split_words(t.layout, heads[0], heads[1]);
  const Stage& stage = t.record(StageId::split_heads, std::move(words), std::move(heads));
  t.Q_h = &stage.tensors[0];
  t.K_h = &stage.tensors[1];
  t.V_h = &stage.tensors[2];
}

// One (L, S) block per batch and head, computed from that block of the tensors before.
Tensor per_head_scores(const Tracing& t, std::string name,
                       const std::function<Matrix(std::size_t block)>& block) {
  const Sizes& n = t.n();
  return t.layout.per_head(
      std::move(name), {query, key}, {count(n.L), count(n.S)},
      [&](Index b, Index head) { return block(t.layout.head_block(b, head)); });
}

// 4. scores = Q_h·K_hᵀ: every query against every key, (H, L, S).
void trace_scores(Tracing& t) {
  Tensor scores = per_head_scores(t, "scores", [&](std::size_t block) {
    return attention_scores(t.Q_h->block(block), t.K_h->block(block));
  });
  StageWords words = score_words(t.layout, scores);
  t.scores = &t.record(StageId::scores, std::move(words), {std::move(scores)}).tensors[0];
}

// 5. scaled = scores × 1/√d (or the scale the input chose).
void trace_scaling(Tracing& t) {
  Tensor scaled = per_head_scores(t, "scaled", [&](std::size_t block) {
    return scale_scores(t.scores->block(block), t.spec.scale());
  });
  StageWords words = scaling_words(t.spec, t.layout, scaled);
  t.scaled = t.logits =
      &t.record(StageId::scaling, std::move(words), {std::move(scaled)}).tensors[0];
}

// 5b. masked = scaled + M, M = −∞ where a mask blocks the key: shown with the masks as given.
void trace_masking(Tracing& t) {
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  std::vector<Tensor> tensors = given_masks(spec.masks, spec.batched, spec.batch_size(), n.H);
  tensors.push_back(t.layout.per_head(
      "additive_mask", {query, key}, {count(n.L), count(n.S)}, [&](Index b, Index head) {
        return additive_mask(spec.masks, b, head, n.H, n.L, n.S_given, spec.extra_keys());
      }));
  const Tensor& additive = tensors.back();
  tensors.push_back(per_head_scores(t, "masked", [&](std::size_t block) {
    return mask_scores(t.scaled->block(block), additive.block(block));
  }));
  StageWords words = masking_words(spec, t.layout, tensors.back());
  const Stage& stage = t.record(StageId::masking, std::move(words), std::move(tensors));
  t.additive = &stage.tensors[stage.tensors.size() - 2];
  t.logits = &stage.tensors.back();
}

// 6. weights = the softmax of each row of the logits: each row sums to 1.
void trace_softmax(Tracing& t) {
  Tensor weights = per_head_scores(
      t, "weights", [&](std::size_t block) { return softmax_rows(t.logits->block(block)); });
  StageWords words = softmax_words(t.layout, weights, t.additive ? "masked" : "scaled");
  t.weights = &t.record(StageId::softmax, std::move(words), {std::move(weights)}).tensors[0];
  if (!t.additive) return;
  const Index heads = t.n().multi_head() ? t.n().H : 1;
  if (auto warning = blocked_row_warning(t.spec, *t.additive, *t.weights, heads)) {
    t.trace.warnings.push_back("softmax: " + *warning);
    t.blocked_rows = true;
  }
}

// 7. weighted[i,j,:] = weights[i,j] · V[j,:]: one (S, d) block per query. Held when small; else
//    each block is computed when a renderer asks for it, from copies of the weights and V_h it
//    needs (a generated tensor must not depend on this trace's state).
void trace_weighted_values(Tracing& t) {
  const Sizes& n = t.n();
  const bool generated = t.weights->size() * count(n.d) > default_weighted_limit;
  std::shared_ptr<const Tensor> weights_kept, values_kept;
  if (generated) {
    weights_kept = std::make_shared<const Tensor>(*t.weights);
    values_kept = std::make_shared<const Tensor>(*t.V_h);
  }
  const Tensor* weights = generated ? weights_kept.get() : t.weights;
  const Tensor* values = generated ? values_kept.get() : t.V_h;
  Tensor weighted = t.layout.per_query(
      "weighted", {query, key, feature}, {count(n.L), count(n.S), count(n.d)},
      default_weighted_limit,
      [weights_kept, values_kept, weights, values, heads = n.multi_head() ? n.H : 1](
          Index b, Index head, Index i) {
        const std::size_t block = count(b * heads + head);
        return weighted_values(weights->block(block).row(i), values->block(block));
      });
  StageWords words = weighted_words(t.layout, weighted);
  t.record(StageId::weighted_values, std::move(words), {std::move(weighted)});
}

// 8. context[i,:] = Σ_j weighted[i,j,:], which is weights·V: (H, L, d).
void trace_summation(Tracing& t) {
  const Sizes& n = t.n();
  Tensor context = t.layout.per_head(
      "context", {query, feature}, {count(n.L), count(n.d)}, [&](Index b, Index head) {
        const std::size_t block = t.layout.head_block(b, head);
        return weighted_sum(t.weights->block(block), t.V_h->block(block));
      });
  StageWords words = summation_words(t.layout, context);
  t.context = &t.record(StageId::summation, std::move(words), {std::move(context)}).tensors[0];
}

// 9. The heads side by side again: (L, D).
void trace_merge_heads(Tracing& t) {
  const Sizes& n = t.n();
  Tensor merged =
      t.layout.per_batch("context", {query, feature}, {count(n.L), count(n.D)}, [&](Index b) {
        std::vector<Matrix> heads;
        for (Index head = 0; head < n.H; ++head) {
          heads.emplace_back(t.context->block(t.layout.head_block(b, head)));
        }
        return merge_heads(heads);
      });
  StageWords words = merge_words(t.layout, merged);
  t.context = &t.record(StageId::merge_heads, std::move(words), {std::move(merged)}).tensors[0];
}

// 10. output = context·W_oᵀ + b_o: (L, E).
void trace_out_proj(Tracing& t) {
  const Linear& out_proj = *t.spec.out_proj;
  Tensor output = t.layout.per_batch(
      "output", {query, feature}, {count(t.n().L), count(out_proj.weight.rows())},
      [&](Index b) { return project(t.context->block(count(b)), out_proj); });
  StageWords words = out_proj_words(t.spec, t.layout, output);
  t.record(StageId::out_proj, std::move(words), {std::move(output)});
}

}  // namespace

Trace trace_attention(const Spec& spec) {
  Tracing t(spec);
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
  // From here on, every tensor has one block per batch and head.
  trace_scores(t);   // scores = Q_h·K_hᵀ                       (H, L, S)
  trace_scaling(t);  // scaled = scores × 1/√d
  if (spec.masks.any()) {
    trace_masking(t);  // masked = scaled + M
  } else {
    t.skip(StageId::masking);
  }
  trace_softmax(t);          // weights: each row sums to 1 (or is nan, every key blocked)
  trace_weighted_values(t);  // weighted[i,j,:] = weights[i,j]·V_h[j,:]   (H, L, S, d)
  trace_summation(t);        // context = Σ_j weighted = weights·V_h      (H, L, d)
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

}  // namespace attn_trace
