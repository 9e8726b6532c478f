// The driver: self-attention in paper order. Each step computes one stage's tensors with the pure
// functions of stages.hpp and records them, with title, formula and shape algebra, into the trace.
#include "attn_trace/tracer.hpp"

#include <cmath>
#include <exception>
#include <functional>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "attn_trace/stages.hpp"

namespace attn_trace {
namespace {

using Dims = std::vector<std::size_t>;

std::size_t count(Index n) {
  return static_cast<std::size_t>(n);
}

// "(3×2)", "(2×3×3)"
std::string dims_text(const Dims& dims) {
  return fmt::format("({})", fmt::join(dims, "×"));
}

// "1 batch", "3 batches"
std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// The tensors of one trace share their leading axes: batch (when the input is batched) and head
// (when there is more than one head). Layout builds tensors block by block over those axes, and
// writes how one block's shape algebra extends to the whole tensor.
class Layout {
 public:
  Layout(const Spec& spec)
      : batched_(spec.batched),
        batches_(spec.batch_size()),
        heads_(spec.num_heads > 1 ? spec.num_heads : 1) {}

  // One (rows × cols) block per batch b: block(b).
  Tensor per_batch(std::string name, std::vector<Axis> axes, Dims dims,
                   const std::function<Matrix(Index b)>& block) const {
    Tensor t = make(std::move(name), false, std::move(axes), std::move(dims));
    for (Index b = 0; b < batches_; ++b) t.set_block(count(b), block(b));
    return t;
  }

  // One block per batch b and head h: block(b, h).
  Tensor per_head(std::string name, std::vector<Axis> axes, Dims dims,
                  const std::function<Matrix(Index b, Index h)>& block) const {
    Tensor t = make(std::move(name), true, std::move(axes), std::move(dims));
    // The heads are independent: compute them on every core. An exception (out of memory) must
    // not leave the parallel loop, so it is carried out and rethrown.
    const Index blocks = batches_ * heads_;
    std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic)
    for (Index n = 0; n < blocks; ++n) {
      try {
        t.set_block(count(n), block(n / heads_, n % heads_));
      } catch (...) {
#pragma omp critical
        failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
    return t;
  }

  // One block per batch b, head h and query i: block(b, h, i). REQUIRES: dims = {L, rows, cols}.
  // Stored when it has at most `max_stored` numbers, else generated block by block on demand.
  Tensor per_query(std::string name, std::vector<Axis> axes, Dims dims, std::size_t max_stored,
                   std::function<Matrix(Index b, Index h, Index i)> block) const {
    const Index queries = static_cast<Index>(dims.front());
    lead(true, axes, dims);
    const std::size_t size =
        std::accumulate(dims.begin(), dims.end(), std::size_t{1}, std::multiplies<>());
    if (size > max_stored) {
      return make_generated_tensor(
          std::move(name), std::move(axes), std::move(dims),
          [block = std::move(block), queries, heads = heads_](std::size_t n) {
            const Index flat = static_cast<Index>(n);
            const Index i = flat % queries, head = flat / queries % heads;
            return block(flat / queries / heads, head, i);
          });
    }
    Tensor t = make_tensor(std::move(name), std::move(axes), std::move(dims));
    for (Index b = 0; b < batches_; ++b) {
      for (Index h = 0; h < heads_; ++h) {
        for (Index i = 0; i < queries; ++i) {
          t.set_block(head_block(b, h) * count(queries) + count(i), block(b, h, i));
        }
      }
    }
    return t;
  }

  // The block number of batch b, head h in a tensor with a head axis (or b without one).
  [[nodiscard]] std::size_t head_block(Index b, Index h) const {
    return count(b * heads_ + h);
  }

  // ", for each of 2 heads → (2×3×3)": how one block's algebra extends to the whole tensor.
  [[nodiscard]] std::string repeat(const Tensor& t, bool per_head) const {
    std::vector<std::string> over;
    if (batched_) over.push_back(plural(count(batches_), "batch", "batches"));
    if (per_head && heads_ > 1) over.push_back(plural(count(heads_), "head", "heads"));
    if (over.empty()) return "";
    return fmt::format(", for each of {} → {}", fmt::join(over, " × "), dims_text(t.shape));
  }

 private:
  // Puts the leading axes (batch, then head) in front of a block's axes.
  void lead(bool per_head, std::vector<Axis>& axes, Dims& dims) const {
    if (per_head && heads_ > 1) {
      axes.insert(axes.begin(), Axis::head);
      dims.insert(dims.begin(), count(heads_));
    }
    if (batched_) {
      axes.insert(axes.begin(), Axis::batch);
      dims.insert(dims.begin(), count(batches_));
    }
  }

  Tensor make(std::string name, bool per_head, std::vector<Axis> axes, Dims dims) const {
    lead(per_head, axes, dims);
    return make_tensor(std::move(name), std::move(axes), std::move(dims));
  }

  bool batched_;
  Index batches_, heads_;  // heads_ is 1 when the head axis is left out
};

// "X·W_qᵀ + b_q" as the user wrote the weights.
std::string linear_formula(const Spec& spec, std::string_view in, std::string_view weight,
                           std::string_view bias, bool has_bias) {
  const bool torch = spec.weight_layout == WeightLayout::torch;
  return fmt::format("{}·{}{}{}", in, weight, torch ? "ᵀ" : "",
                     has_bias ? fmt::format(" + {}", bias) : "");
}

// "(3×2)·(2×2)ᵀ + (2) → (3×2)" as the user wrote the weights.
std::string linear_shapes(const Spec& spec, Index rows, const Linear& linear) {
  const bool torch = spec.weight_layout == WeightLayout::torch;
  const Index out = linear.weight.rows(), in = linear.weight.cols();
  return fmt::format(
      "{}·{}{}{} → {}", dims_text({count(rows), count(in)}),
      torch ? dims_text({count(out), count(in)}) : dims_text({count(in), count(out)}),
      torch ? "ᵀ" : "", linear.bias ? fmt::format(" + ({})", out) : "",
      dims_text({count(rows), count(out)}));
}

std::string scale_formula(const Spec& spec, std::string_view h) {
  const std::string lhs = fmt::format("scaled{0} = scores{0}", h);
  const double s = spec.scale();
  switch (spec.scale_rule) {
    case ScaleRule::head_dim:
      return fmt::format("{} × 1/√d = scores{} × 1/√{} = scores{} × {:.6g}", lhs, h,
                         spec.head_dim(), h, s);
    case ScaleRule::embed_dim:
      return fmt::format("{} × 1/√E = scores{} × 1/√{} = scores{} × {:.6g}", lhs, h,
                         spec.embed_dim(), h, s);
    case ScaleRule::none:
      return lhs + " × 1 (scale \"none\": no scaling)";
    case ScaleRule::custom:
      return fmt::format("{} × {:.6g}", lhs, s);
  }
  return "";
}

// A warning for the first stage whose numbers are not all finite: every later stage inherits them.
void warn_non_finite(Trace& trace) {
  for (const Stage& stage : trace.stages) {
    for (const Tensor& t : stage.tensors) {
      std::size_t bad = 0;
      for (double v : t.data) bad += std::isfinite(v) ? 0 : 1;
      if (bad == 0) continue;
      trace.warnings.push_back(fmt::format(
          "{}: {} of {} numbers of {} are not finite (inf or nan): the values are beyond double "
          "precision, and every later stage inherits them",
          stage.id, bad, t.size(), t.name));
      return;
    }
  }
}

}  // namespace

Trace trace_attention(const Spec& spec) {
  const Index L = spec.q_len(), S = spec.kv_len(), E = spec.embed_dim();
  const Index D = spec.model_dim(), H = spec.num_heads, d = spec.head_dim();
  const bool multi_head = H > 1;
  const std::string h = multi_head ? "_h" : "";  // the head subscript in formulas
  const Layout layout(spec);
  using enum Axis;

  Trace trace;
  trace.name = spec.name;
  trace.description = spec.description;
  trace.source = spec.source;
  trace.config =
      TraceConfig{.batch = spec.batched ? std::optional<Index>(spec.batch_size()) : std::nullopt,
                  .q_len = L,
                  .kv_len = S,
                  .embed_dim = E,
                  .model_dim = D,
                  .num_heads = H,
                  .head_dim = d,
                  .scale = spec.scale(),
                  .scale_rule = spec.scale_rule,
                  .weight_layout = spec.weight_layout,
                  .learned_projections = spec.learned_projections(),
                  .out_proj = spec.out_proj.has_value()};
  trace.tokens = spec.tokens;
  trace.kv_tokens = spec.tokens;  // self-attention: the keys are the queries' tokens
  trace.notes = spec.notes;
  // Later stages read the tensors of earlier ones by reference: no reallocation allowed.
  trace.stages.reserve(stage_ids().size());
  const auto record = [&](Stage stage) -> const Stage& {
    return trace.stages.emplace_back(std::move(stage));
  };
  const auto skip = [&](std::string id, std::string reason) {
    trace.skipped.push_back({std::move(id), std::move(reason)});
  };

  const std::string LxE = dims_text({count(L), count(E)});
  const std::string LxD = dims_text({count(L), count(D)});
  const std::string Lxd = dims_text({count(L), count(d)});
  const std::string LxS = dims_text({count(L), count(S)});

  // 1. X: one row of E numbers per token.
  Tensor X_in = layout.per_batch("X", {query, feature}, {count(L), count(E)},
                                 [&](Index b) { return spec.inputs[count(b)]; });
  const std::string input_shapes = LxE + layout.repeat(X_in, false);
  const Tensor& X =
      record({"input",
              "The input: one vector per token",
              fmt::format("X = one row of E = {} per token", plural(count(E), "number", "numbers")),
              input_shapes,
              {std::move(X_in)},
              ""})
          .tensors[0];

  // 2. Q, K, V = X·Wᵀ + b (or X itself when no weights were given): (L, D) each.
  const auto projection = [&](std::string name, Axis rows, const std::optional<Linear>& linear) {
    return layout.per_batch(std::move(name), {rows, feature}, {count(L), count(D)}, [&](Index b) {
      return linear ? project(X.block(count(b)), *linear) : Matrix(X.block(count(b)));
    });
  };
  Stage projections;
  projections.id = "projections";
  projections.tensors = {projection("Q", query, spec.q_proj), projection("K", key, spec.k_proj),
                         projection("V", key, spec.v_proj)};
  const std::string repeat_qkv = layout.repeat(projections.tensors[0], false);
  if (spec.learned_projections()) {
    projections.title = "Query, key and value projections";
    const auto formula = [&](std::string_view name, std::string_view suffix, const Linear& p) {
      return fmt::format("{} = {}", name,
                         linear_formula(spec, "X", fmt::format("W_{}", suffix),
                                        fmt::format("b_{}", suffix), p.bias.has_value()));
    };
    projections.formula =
        fmt::format("{}   {}   {}", formula("Q", "q", *spec.q_proj),
                    formula("K", "k", *spec.k_proj), formula("V", "v", *spec.v_proj));
    const std::string q = linear_shapes(spec, L, *spec.q_proj);
    const std::string k = linear_shapes(spec, S, *spec.k_proj);
    const std::string v = linear_shapes(spec, S, *spec.v_proj);
    projections.shapes =
        (q == k && k == v ? q + " each" : fmt::format("Q: {}; K: {}; V: {}", q, k, v)) + repeat_qkv;
  } else {
    projections.title = "Query, key and value (no learned projections)";
    projections.formula = "Q = K = V = X";
    projections.shapes = LxE + " → " + LxE + repeat_qkv;
    projections.note =
        "No Q/K/V weights were given, so Q, K and V are the input itself: the textbooks' basic "
        "self-attention.";
  }
  const Stage& qkv = record(std::move(projections));

  // 3. Head h takes columns h·d … (h+1)·d − 1 of Q, K and V: (H, L, d) each.
  const auto split = [&](std::size_t which, Axis rows) {
    const Tensor& whole = qkv.tensors[which];
    return layout.per_head(
        whole.name, {rows, feature}, {count(L), count(d)},
        [&](Index b, Index head) { return head_slice(whole.block(count(b)), head, d); });
  };
  const Stage* heads = &qkv;  // with one head, the projections are the heads
  if (multi_head) {
    Tensor Q_heads = split(0, query);
    const std::string shapes =
        fmt::format("{} → {} × {}", LxD, H, Lxd) +
        (spec.batched ? fmt::format(", for each of {} → ",
                                    plural(count(spec.batch_size()), "batch", "batches"))
                      : std::string(" = ")) +
        dims_text(Q_heads.shape);
    heads = &record({"split_heads",
                     "Split into heads",
                     fmt::format("Q_h = Q[:, h·d … (h+1)·d − 1] with d = D/H = {}/{} = {}; "
                                 "likewise K_h, V_h",
                                 D, H, d),
                     shapes,
                     {std::move(Q_heads), split(1, key), split(2, key)},
                     ""});
  } else {
    skip("split_heads", "it exists only with num_heads > 1");
  }
  const Tensor& Q_h = heads->tensors[0];
  const Tensor& K_h = heads->tensors[1];
  const Tensor& V_h = heads->tensors[2];

  // 4. scores = Q_h·K_hᵀ: every query against every key, (H, L, S).
  Tensor scores_t =
      layout.per_head("scores", {query, key}, {count(L), count(S)}, [&](Index b, Index head) {
        const std::size_t block = layout.head_block(b, head);
        return attention_scores(Q_h.block(block), K_h.block(block));
      });
  const std::string scores_shapes =
      fmt::format("{}·{} → {}", Lxd, dims_text({count(d), count(S)}), LxS) +
      layout.repeat(scores_t, true);
  const Tensor& scores = record({"scores",
                                 "Attention scores: every query against every key",
                                 fmt::format("scores{0} = Q{0}·K{0}ᵀ", h),
                                 scores_shapes,
                                 {std::move(scores_t)},
                                 ""})
                             .tensors[0];

  // 5. scaled = scores × scale.
  Tensor scaled_t =
      layout.per_head("scaled", {query, key}, {count(L), count(S)}, [&](Index b, Index head) {
        return scale_scores(scores.block(layout.head_block(b, head)), spec.scale());
      });
  const std::string scaled_shapes = LxS + " → " + LxS + layout.repeat(scaled_t, true);
  const Tensor& scaled = record({"scaling",
                                 "Scaling the scores",
                                 scale_formula(spec, h),
                                 scaled_shapes,
                                 {std::move(scaled_t)},
                                 ""})
                             .tensors[0];

  // 6. weights = softmax of each row of scaled; each row sums to 1.
  Tensor weights_t = layout.per_head(
      "weights", {query, key}, {count(L), count(S)},
      [&](Index b, Index head) { return softmax_rows(scaled.block(layout.head_block(b, head))); });
  const std::string weights_shapes = LxS + " → " + LxS + layout.repeat(weights_t, true);
  const Tensor& weights =
      record({"softmax",
              "Softmax over each row",
              fmt::format("weights{0}[i,j] = exp(scaled{0}[i,j] − m_i) / Σ_k exp(scaled{0}[i,k] "
                          "− m_i)",
                          h),
              weights_shapes,
              {std::move(weights_t)},
              fmt::format("m_i = max_k scaled{}[i,k], the row's largest score: subtracting it "
                          "keeps exp from overflowing and does not change the result. Each row "
                          "sums to 1: how much one query attends to each key.",
                          h)})
          .tensors[0];

  // 7. weighted[i,j,:] = weights[i,j] · V[j,:]: one (S, d) block per query.
  //    Held when small; else each block is computed when a renderer asks for it, from copies of
  //    the weights and V_h it needs (a generated tensor must not depend on this function's state).
  const bool generated = weights.size() * count(d) > default_weighted_limit;
  std::shared_ptr<const Tensor> weights_kept, values_kept;
  if (generated) {
    weights_kept = std::make_shared<const Tensor>(weights);
    values_kept = std::make_shared<const Tensor>(V_h);
  }
  const Tensor* weights_used = generated ? weights_kept.get() : &weights;
  const Tensor* values_used = generated ? values_kept.get() : &V_h;
  Tensor weighted_t = layout.per_query(
      "weighted", {query, key, feature}, {count(L), count(S), count(d)}, default_weighted_limit,
      [weights_kept, values_kept, weights_used, values_used, heads = multi_head ? H : 1](
          Index b, Index head, Index i) {
        const std::size_t block = count(b * heads + head);
        return weighted_values(weights_used->block(block).row(i), values_used->block(block));
      });
  const std::string weighted_shapes =
      fmt::format("{} ⊙ {} → {}", dims_text({count(L), count(S), 1}),
                  dims_text({1, count(S), count(d)}), dims_text({count(L), count(S), count(d)})) +
      layout.repeat(weighted_t, true);
  record({"weighted_values",
          "Weighted values: each value row times its weight",
          fmt::format("weighted{0}[i,j,:] = weights{0}[i,j] · V{0}[j,:]", h),
          weighted_shapes,
          {std::move(weighted_t)},
          "Each key's value row, scaled by how much the query "
          "attends to that key (broadcast over the last axis)."});

  // 8. context[i,:] = Σ_j weighted[i,j,:] = (weights·V)[i,:]: (H, L, d).
  Tensor context_t =
      layout.per_head("context", {query, feature}, {count(L), count(d)}, [&](Index b, Index head) {
        const std::size_t block = layout.head_block(b, head);
        return weighted_sum(weights.block(block), V_h.block(block));
      });
  const std::string context_shapes =
      fmt::format("{} → {}", dims_text({count(L), count(S), count(d)}), Lxd) +
      layout.repeat(context_t, true);
  const Stage& summation = record(
      {"summation",
       "Sum over the keys",
       fmt::format("context{0}[i,:] = Σ_j weighted{0}[i,j,:]   (the same as weights{0}·V{0})", h),
       context_shapes,
       {std::move(context_t)},
       ""});
  const Tensor* context = &summation.tensors[0];

  // 9. The heads side by side again: (L, D).
  if (multi_head) {
    Tensor merged =
        layout.per_batch("context", {query, feature}, {count(L), count(D)}, [&](Index b) {
          std::vector<Matrix> parts;
          for (Index head = 0; head < H; ++head) {
            parts.emplace_back(context->block(layout.head_block(b, head)));
          }
          return merge_heads(parts);
        });
    const std::string parts = H <= 4 ? [&] {
      std::vector<std::string> names;
      for (Index head = 0; head < H; ++head) names.push_back(fmt::format("context_{}", head));
      return fmt::format("{}", fmt::join(names, " | "));
    }()
                                     : fmt::format("context_0 | context_1 | … | context_{}", H - 1);
    const std::string shapes =
        fmt::format("{} × {} → {}", H, Lxd, LxD) + layout.repeat(merged, false);
    context = &record({"merge_heads",
                       "Merge the heads",
                       fmt::format("context = [{}]", parts),
                       shapes,
                       {std::move(merged)},
                       ""})
                   .tensors[0];
  } else {
    skip("merge_heads", "it exists only with num_heads > 1");
  }

  // 10. output = context·W_oᵀ + b_o.
  if (spec.out_proj) {
    Tensor output = layout.per_batch(
        "output", {query, feature}, {count(L), count(spec.out_proj->weight.rows())},
        [&](Index b) { return project(context->block(count(b)), *spec.out_proj); });
    const std::string shapes =
        linear_shapes(spec, L, *spec.out_proj) + layout.repeat(output, false);
    record({"out_proj",
            "Output projection",
            fmt::format("output = {}", linear_formula(spec, "context", "W_o", "b_o",
                                                      spec.out_proj->bias.has_value())),
            shapes,
            {std::move(output)},
            ""});
  } else {
    skip("out_proj", "the input gives no output projection (out_proj.weight or W_o)");
  }

  warn_non_finite(trace);
  return trace;
}

}  // namespace attn_trace
