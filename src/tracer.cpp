// The driver: self-attention in paper order, one stage function per step, every result recorded
// into the trace with its title, formula and shape algebra.
#include "attn_trace/tracer.hpp"

#include <cmath>

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

// The tensors of one trace share their leading axes: batch (when the input is batched) and head
// (when there is more than one head). This makes them, and numbers their 2-D blocks.
struct Layout {
  bool batched;
  std::size_t batches, heads;  // heads is 1 when the head axis is left out

  Tensor make(std::string name, bool per_head, std::vector<Axis> axes, Dims dims) const {
    if (per_head && heads > 1) {
      axes.insert(axes.begin(), Axis::head);
      dims.insert(dims.begin(), heads);
    }
    if (batched) {
      axes.insert(axes.begin(), Axis::batch);
      dims.insert(dims.begin(), batches);
    }
    return make_tensor(std::move(name), std::move(axes), std::move(dims));
  }
  // The block of batch b in a tensor without a head axis, and of batch b, head h in one with it.
  static std::size_t block(Index b) { return count(b); }
  std::size_t block(Index b, Index h) const { return count(b) * heads + count(h); }

  // ", for each of 2 heads → (2×3×3)": how one block's algebra extends to the whole tensor.
  std::string repeat(const Tensor& t, bool per_head) const {
    std::vector<std::string> over;
    if (batched) over.push_back(fmt::format("{} batches", batches));
    if (per_head && heads > 1) over.push_back(fmt::format("{} heads", heads));
    if (over.empty()) return "";
    return fmt::format(", for each of {} → {}", fmt::join(over, " × "), dims_text(t.shape));
  }
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

std::string scale_formula(const Spec& spec) {
  const double s = spec.scale();
  switch (spec.scale_rule) {
    case ScaleRule::head_dim:
      return fmt::format("scaled = scores × 1/√d = scores × 1/√{} = scores × {:.6g}",
                         spec.head_dim(), s);
    case ScaleRule::embed_dim:
      return fmt::format("scaled = scores × 1/√E = scores × 1/√{} = scores × {:.6g}",
                         spec.embed_dim(), s);
    case ScaleRule::none:
      return "scaled = scores × 1 (scale \"none\": no scaling)";
    case ScaleRule::custom:
      return fmt::format("scaled = scores × {:.6g}", s);
  }
  return "";
}

}  // namespace

Trace trace_attention(const Spec& spec) {
  const Index B = spec.batch_size(), L = spec.q_len(), S = spec.kv_len(), E = spec.embed_dim();
  const Index D = spec.model_dim(), H = spec.num_heads, d = spec.head_dim();
  const Index E_out = spec.out_proj ? spec.out_proj->weight.rows() : D;
  const bool multi_head = H > 1;
  const double scale = spec.scale();
  const Layout layout{spec.batched, count(B), multi_head ? count(H) : 1};
  using enum Axis;

  Tensor X = layout.make("X", false, {query, feature}, {count(L), count(E)});
  Tensor Q = layout.make("Q", false, {query, feature}, {count(L), count(D)});
  Tensor K = layout.make("K", false, {key, feature}, {count(S), count(D)});
  Tensor V = layout.make("V", false, {key, feature}, {count(S), count(D)});
  Tensor Q_heads = layout.make("Q", true, {query, feature}, {count(L), count(d)});
  Tensor K_heads = layout.make("K", true, {key, feature}, {count(S), count(d)});
  Tensor V_heads = layout.make("V", true, {key, feature}, {count(S), count(d)});
  Tensor scores = layout.make("scores", true, {query, key}, {count(L), count(S)});
  Tensor scaled = layout.make("scaled", true, {query, key}, {count(L), count(S)});
  Tensor weights = layout.make("weights", true, {query, key}, {count(L), count(S)});
  Tensor weighted =
      layout.make("weighted", true, {query, key, feature}, {count(L), count(S), count(d)});
  Tensor context_heads = layout.make("context", true, {query, feature}, {count(L), count(d)});
  Tensor context = layout.make("context", false, {query, feature}, {count(L), count(D)});
  Tensor output = layout.make("output", false, {query, feature}, {count(L), count(E_out)});

  for (Index b = 0; b < B; ++b) {
    const Matrix& x = spec.inputs[count(b)];
    X.set_block(layout.block(b), x);

    // Q, K, V: learned projections of X, or X itself when no weights were given.
    const Matrix q = spec.learned_projections() ? project(x, *spec.q_proj) : x;
    const Matrix k = spec.learned_projections() ? project(x, *spec.k_proj) : x;
    const Matrix v = spec.learned_projections() ? project(x, *spec.v_proj) : x;
    Q.set_block(layout.block(b), q);
    K.set_block(layout.block(b), k);
    V.set_block(layout.block(b), v);

    std::vector<Matrix> head_contexts;
    for (Index h = 0; h < H; ++h) {
      const std::size_t block = layout.block(b, h);
      const Matrix q_h = head_slice(q, h, d);
      const Matrix k_h = head_slice(k, h, d);
      const Matrix v_h = head_slice(v, h, d);
      const Matrix head_scores = attention_scores(q_h, k_h);
      const Matrix head_scaled = scale_scores(head_scores, scale);
      const Matrix head_weights = softmax_rows(head_scaled);  // each row sums to 1
      const std::vector<Matrix> head_weighted = weighted_values(head_weights, v_h);
      Matrix head_context = sum_over_keys(head_weighted);  // = head_weights · v_h

      Q_heads.set_block(block, q_h);
      K_heads.set_block(block, k_h);
      V_heads.set_block(block, v_h);
      scores.set_block(block, head_scores);
      scaled.set_block(block, head_scaled);
      weights.set_block(block, head_weights);
      for (Index i = 0; i < L; ++i) {
        weighted.set_block(block * count(L) + count(i), head_weighted[count(i)]);
      }
      context_heads.set_block(block, head_context);
      head_contexts.push_back(std::move(head_context));
    }

    // The heads side by side again: (L, D).
    const Matrix merged = merge_heads(head_contexts);
    context.set_block(layout.block(b), merged);
    if (spec.out_proj) output.set_block(layout.block(b), project(merged, *spec.out_proj));
  }

  // Record the stages in paper order.
  Trace trace;
  trace.name = spec.name;
  trace.description = spec.description;
  trace.source = spec.source;
  trace.config = TraceConfig{.batch = spec.batched ? std::optional<Index>(B) : std::nullopt,
                             .q_len = L,
                             .kv_len = S,
                             .embed_dim = E,
                             .model_dim = D,
                             .num_heads = H,
                             .head_dim = d,
                             .scale = scale,
                             .scale_rule = spec.scale_rule,
                             .weight_layout = spec.weight_layout,
                             .learned_projections = spec.learned_projections(),
                             .out_proj = spec.out_proj.has_value()};
  trace.tokens = spec.tokens;
  trace.kv_tokens = spec.tokens;  // self-attention: the keys are the queries' tokens
  trace.notes = spec.notes;

  const std::string LxE = dims_text({count(L), count(E)});
  const std::string LxD = dims_text({count(L), count(D)});
  const std::string Lxd = dims_text({count(L), count(d)});
  const std::string LxS = dims_text({count(L), count(S)});
  const std::string Sxd = dims_text({count(S), count(d)});
  const std::string LxSxd = dims_text({count(L), count(S), count(d)});
  const auto repeat = [&](const Tensor& t, bool per_head) { return layout.repeat(t, per_head); };

  trace.stages.push_back({"input",
                          "The input: one vector per token",
                          fmt::format("X = one row of E = {} numbers per token", E),
                          LxE + repeat(X, false),
                          {X},
                          ""});

  if (spec.learned_projections()) {
    const auto formula = [&](std::string_view name, std::string_view suffix, const Linear& p) {
      return fmt::format("{} = {}", name,
                         linear_formula(spec, "X", fmt::format("W_{}", suffix),
                                        fmt::format("b_{}", suffix), p.bias.has_value()));
    };
    trace.stages.push_back(
        {"projections",
         "Query, key and value projections",
         fmt::format("{}   {}   {}", formula("Q", "q", *spec.q_proj),
                     formula("K", "k", *spec.k_proj), formula("V", "v", *spec.v_proj)),
         linear_shapes(spec, L, *spec.q_proj) + " each" + repeat(Q, false),
         {Q, K, V},
         ""});
  } else {
    trace.stages.push_back({"projections",
                            "Query, key and value (no learned projections)",
                            "Q = K = V = X",
                            LxE + " → " + LxE + repeat(Q, false),
                            {Q, K, V},
                            "No weights were given, so Q, K and V are the input itself: the "
                            "textbooks' basic self-attention."});
  }

  if (multi_head) {
    trace.stages.push_back(
        {"split_heads",
         "Split into heads",
         fmt::format("Q_h = Q[:, h·d … (h+1)·d − 1] with d = D/H = {}/{} = {}; likewise K_h, V_h",
                     D, H, d),
         fmt::format("{} → {} × {}", LxD, H, Lxd) +
             (spec.batched ? fmt::format(", for each of {} batches → ", B) : " = ") +
             dims_text(Q_heads.shape),
         {Q_heads, K_heads, V_heads},
         ""});
  }

  const std::string per_head = multi_head ? "_h" : "";
  trace.stages.push_back(
      {"scores",
       "Attention scores: every query against every key",
       fmt::format("scores{0} = Q{0}·K{0}ᵀ", per_head),
       fmt::format("{}·{} → {}", Lxd, dims_text({count(d), count(S)}), LxS) + repeat(scores, true),
       {scores},
       ""});
  trace.stages.push_back({"scaling",
                          "Scaling the scores",
                          scale_formula(spec),
                          LxS + " → " + LxS + repeat(scaled, true),
                          {scaled},
                          ""});
  trace.stages.push_back({"softmax",
                          "Softmax over each row",
                          "weights[i,j] = exp(scaled[i,j] − m_i) / Σ_k exp(scaled[i,k] − m_i)",
                          LxS + " → " + LxS + repeat(weights, true),
                          {weights},
                          "m_i = max_k scaled[i,k], the row's largest score: subtracting it keeps "
                          "exp from overflowing and does not change the result. Each row sums to "
                          "1: how much one query attends to each key."});
  trace.stages.push_back({"weighted_values",
                          "Weighted values: each value row times its weight",
                          multi_head ? "weighted[h,i,j,:] = weights[h,i,j] · V_h[j,:]"
                                     : "weighted[i,j,:] = weights[i,j] · V[j,:]",
                          fmt::format("{} ⊙ {} → {}", LxS, Sxd, LxSxd) + repeat(weighted, true),
                          {weighted},
                          ""});
  trace.stages.push_back(
      {"summation",
       "Sum over the keys",
       multi_head ? "context[h,i,:] = Σ_j weighted[h,i,j,:]   (the same as weights_h·V_h)"
                  : "context[i,:] = Σ_j weighted[i,j,:]   (the same as weights·V)",
       fmt::format("{} → {}", LxSxd, Lxd) + repeat(context_heads, true),
       {context_heads},
       ""});

  if (multi_head) {
    std::vector<std::string> parts;
    for (Index h = 0; h < H; ++h) parts.push_back(fmt::format("context_{}", h));
    trace.stages.push_back({"merge_heads",
                            "Merge the heads",
                            fmt::format("context = [{}]", fmt::join(parts, " | ")),
                            fmt::format("{} × {} → {}", H, Lxd, LxD) + repeat(context, false),
                            {context},
                            ""});
  }

  if (spec.out_proj) {
    trace.stages.push_back(
        {"out_proj",
         "Output projection",
         fmt::format("output = {}", linear_formula(spec, "context", "W_o", "b_o",
                                                   spec.out_proj->bias.has_value())),
         linear_shapes(spec, L, *spec.out_proj) + repeat(output, false),
         {output},
         ""});
  }
  return trace;
}

}  // namespace attn_trace
