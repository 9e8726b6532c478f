// The words of each stage (stage_words.hpp): formulas and shape algebra as the tutorials write
// them, and the notes and warnings in full sentences.
#include "stage_words.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "attn_trace/core/text.hpp"

namespace attn_trace {
namespace {

// "_h" in a formula of a multi-head trace: scores_h = Q_h·K_hᵀ.
std::string head_sub(const Layout& layout) {
  return layout.n.multi_head() ? "_h" : "";
}

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
  return fmt::format("{}·{}{}{} → {}", dims_text({rows, in}),
                     torch ? dims_text({out, in}) : dims_text({in, out}), torch ? "ᵀ" : "",
                     linear.bias ? fmt::format(" + ({})", out) : "", dims_text({rows, out}));
}

// What each given mask means, in the words of its own convention.
std::string mask_note(const Spec& spec) {
  const Masks& masks = spec.masks;
  std::vector<std::string> parts;
  if (masks.mask) {
    parts.push_back(
        masks.mask->causal
            ? "mask \"causal\": query i may attend keys j ≤ i (the tutorials' keep-mask, 1 = may "
              "attend, 0 = blocked; PyTorch blocks torch.triu(ones(L, S), 1)), so a 0 becomes −∞."
            : "mask follows the tutorials' convention: 1 = may attend, 0 = blocked, so a 0 "
              "becomes −∞ and a 1 becomes 0.");
  }
  if (masks.attn_mask) {
    const std::string shape =
        masks.attn_mask->per_head
            ? (spec.batched ? " Given (B·H, L, S): block b·H + h is batch b, head h."
                            : " Given (H, L, S): one per head.")
            : "";
    parts.push_back(
        masks.attn_mask->boolean
            ? "attn_mask follows nn.MultiheadAttention: true = blocked (−∞), false = may attend "
              "(0). Beware: scaled_dot_product_attention's boolean mask means the opposite, "
              "true = may attend." +
                  shape
            : "attn_mask holds numbers, which nn.MultiheadAttention adds to the scaled scores as "
              "they are: −inf blocks, 0 leaves a score alone, anything else shifts it." +
                  shape);
  }
  if (masks.key_padding_mask) {
    parts.push_back(
        "key_padding_mask follows nn.MultiheadAttention: true = that key is ignored by every "
        "query, so its whole column becomes −∞.");
  }
  if (spec.extra_keys() > 0) {
    parts.push_back(
        "The extra keys appended by bias_k/bias_v or add_zero_attn are never blocked: PyTorch "
        "pads every mask with 0 for them.");
  }
  const int given =
      (masks.mask ? 1 : 0) + (masks.attn_mask ? 1 : 0) + (masks.key_padding_mask ? 1 : 0);
  if (given > 1) {
    parts.push_back("Where several masks are given, a key blocked by any of them is blocked.");
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

// The label of query i of batch b: `"am" (row 1)`, or `row 1` for unlabelled tokens.
std::string query_label(const Spec& spec, Index b, Index i) {
  const std::string& token = spec.tokens[count(b)][count(i)];
  return token == std::to_string(i) ? fmt::format("row {}", i)
                                    : fmt::format("\"{}\" (row {})", token, i);
}

// The names of the given numbers that are not finite (an input file may write NaN, Infinity and
// -Infinity as Python's json.dump does): "X", "W_q", "b_o", … in the legend's names. A mask's
// −∞ block keys, and are not among them.
std::vector<std::string> non_finite_inputs(const Spec& spec) {
  std::vector<std::string> names;
  const auto name_if = [&](bool non_finite, std::string_view name) {
    if (non_finite) names.emplace_back(name);
  };
  const auto any_non_finite = [](const std::vector<Matrix>& matrices) {
    return std::any_of(matrices.begin(), matrices.end(),
                       [](const Matrix& m) { return !m.allFinite(); });
  };
  name_if(any_non_finite(spec.inputs), "X");
  name_if(any_non_finite(spec.key_inputs), source_name(spec.key_source, 'K'));
  if (spec.key_source == KeySource::separate) {
    name_if(any_non_finite(spec.value_inputs), source_name(spec.key_source, 'V'));
  }
  const auto linear = [&](const std::optional<Linear>& l, std::string_view weight,
                          std::string_view bias) {
    if (!l) return;
    name_if(!l->weight.allFinite(), weight);
    name_if(l->bias && !l->bias->allFinite(), bias);
  };
  linear(spec.q_proj, "W_q", "b_q");
  linear(spec.k_proj, "W_k", "b_k");
  linear(spec.v_proj, "W_v", "b_v");
  linear(spec.out_proj, "W_o", "b_o");
  name_if(spec.bias_k && !spec.bias_k->allFinite(), "bias_k");
  name_if(spec.bias_v && !spec.bias_v->allFinite(), "bias_v");
  return names;
}

}  // namespace

StageWords input_words(const Layout& layout, const std::vector<Tensor>& inputs) {
  const Sizes& n = layout.n;
  const Tensor& X = inputs.front();
  const std::string numbers = plural(n.E, "number", "numbers");
  const std::string shapes = dims_text({n.L, n.E}) + layout.repeat(X, false);
  if (inputs.size() == 1) {
    return {.formula = fmt::format("X = one row of E = {} per token", numbers), .shapes = shapes};
  }
  // Cross-attention: the keys and values come from rows of their own.
  std::vector<std::string> formulas = {
      fmt::format("X = one row of E = {} per query token", numbers)};
  std::vector<std::string> all_shapes = {"X: " + shapes};
  for (std::size_t k = 1; k < inputs.size(); ++k) {
    const Tensor& t = inputs[k];
    const bool kv = t.name == "X_kv", keys = t.name == "X_k";
    formulas.push_back(fmt::format("{} = one row of {} = {} per key token ({})", t.name,
                                   kv     ? "E_kv"
                                   : keys ? "kdim"
                                          : "vdim",
                                   plural(t.cols(), "number", "numbers"),
                                   kv     ? "the source of K and V"
                                   : keys ? "the source of K"
                                          : "the source of V"));
    all_shapes.push_back(fmt::format("{}: {}{}", t.name, dims_text(std::vector{t.rows(), t.cols()}),
                                     layout.repeat(t, false)));
  }
  return {.title = "The inputs: one vector per query token and per key token",
          .formula = fmt::format("{}", fmt::join(formulas, "; ")),
          .shapes = fmt::format("{}", fmt::join(all_shapes, "; ")),
          .note =
              "Cross-attention: the queries come from X, the keys and values from the other "
              "input, so the scores have one row per query token and one column per key "
              "token."};
}

StageWords projection_words(const Spec& spec, const Layout& layout, const Tensor& Q) {
  const Sizes& n = layout.n;
  const std::string repeat = layout.repeat(Q, false);
  const std::string LxE = dims_text({n.L, n.E});
  if (spec.learned_projections()) {
    const auto formula = [&](std::string_view name, std::string_view in, std::string_view suffix,
                             const Linear& p) {
      return fmt::format("{} = {}", name,
                         linear_formula(spec, in, fmt::format("W_{}", suffix),
                                        fmt::format("b_{}", suffix), p.bias.has_value()));
    };
    const std::string q = linear_shapes(spec, n.L, *spec.q_proj);
    const std::string k = linear_shapes(spec, n.S_given, *spec.k_proj);
    const std::string v = linear_shapes(spec, n.S_given, *spec.v_proj);
    return {
        .formula = fmt::format("{}   {}   {}", formula("Q", "X", "q", *spec.q_proj),
                               formula("K", source_name(spec.key_source, 'K'), "k", *spec.k_proj),
                               formula("V", source_name(spec.key_source, 'V'), "v", *spec.v_proj)),
        .shapes = (q == k && k == v ? q + " each" : fmt::format("Q: {}; K: {}; V: {}", q, k, v)) +
                  repeat};
  }
  const std::string title = "Query, key and value (no learned projections)";
  if (spec.key_source == KeySource::self) {
    return {.title = title,
            .formula = "Q = K = V = X",
            .shapes = LxE + " → " + LxE + repeat,
            .note =
                "No Q/K/V weights were given, so Q, K and V are the input itself: the "
                "textbooks' basic self-attention."};
  }
  const std::string SxE = dims_text({n.S_given, n.E});
  return {.title = title,
          .formula = fmt::format("Q = X   K = {}   V = {}", source_name(spec.key_source, 'K'),
                                 source_name(spec.key_source, 'V')),
          .shapes = fmt::format("Q: {} → {}; K, V: {} → {}", LxE, LxE, SxE, SxE) + repeat,
          .note =
              "No Q/K/V weights were given, so Q is the query input and K and V are the key "
              "and value inputs themselves."};
}

StageWords extra_key_words(const Spec& spec, const Layout& layout, const Tensor& K) {
  const Sizes& n = layout.n;
  std::vector<std::string> rows_k, rows_v, why;
  if (spec.bias_k) {
    rows_k.emplace_back("bias_k");
    rows_v.emplace_back("bias_v");
    why.emplace_back(
        "add_bias_kv appends one learned row, bias_k to K and bias_v to V (key <bias_kv>)");
  }
  if (spec.add_zero_attn) {
    rows_k.emplace_back("0");
    rows_v.emplace_back("0");
    why.emplace_back(
        "add_zero_attn appends a row of zeros to both (key <zero_attn>; PyTorch appends it to "
        "each head after the split, which gives the same numbers)");
  }
  return {
      .formula = fmt::format("K ← [K; {}]   V ← [V; {}]", fmt::join(rows_k, "; "),
                             fmt::join(rows_v, "; ")),
      .shapes = fmt::format("{} → {} each", dims_text({n.S_given, n.D}), dims_text({n.S, n.D})) +
                layout.repeat(K, false),
      .note = fmt::format("{}. Every query can attend to these keys whatever the masks block.",
                          fmt::join(why, "; "))};
}

StageWords split_words(const Layout& layout, const Tensor& Q_heads, const Tensor& K_heads) {
  const Sizes& n = layout.n;
  // "(3×4) → 2 × (3×2) = (2×3×2)"
  const auto split_shapes = [&](Index rows, const Tensor& t) {
    return fmt::format("{} → {} × {}", dims_text({rows, n.D}), n.H, dims_text({rows, n.d})) +
           (n.batched ? fmt::format(", for each of {} → ", plural(n.B, "batch", "batches"))
                      : std::string(" = ")) +
           dims_text(t.shape);
  };
  return {.formula = fmt::format(
              "Q_h = Q[:, h·d … (h+1)·d − 1] with d = D/H = {}/{} = {}; likewise K_h, V_h", n.D,
              n.H, n.d),
          .shapes = n.S == n.L ? split_shapes(n.L, Q_heads)
                               : fmt::format("Q: {}; K, V: {}", split_shapes(n.L, Q_heads),
                                             split_shapes(n.S, K_heads))};
}

StageWords score_words(const Layout& layout, const Tensor& scores) {
  const Sizes& n = layout.n;
  return {.formula = fmt::format("scores{0} = Q{0}·K{0}ᵀ", head_sub(layout)),
          .shapes = fmt::format("{}·{} → {}", dims_text({n.L, n.d}), dims_text({n.d, n.S}),
                                dims_text({n.L, n.S})) +
                    layout.repeat(scores, true)};
}

StageWords scaling_words(const Spec& spec, const Layout& layout, const Tensor& scaled) {
  const Sizes& n = layout.n;
  const std::string h = head_sub(layout);
  const std::string lhs = fmt::format("scaled{0} = scores{0}", h);
  const double s = spec.scale();
  std::string formula;
  switch (spec.scale_rule) {
    case ScaleRule::head_dim:
    case ScaleRule::embed_dim:
      formula = fmt::format("{} × {} = scores{} × {} = scores{} × {:.6g}", lhs,
                            scale_rule_symbol(spec.scale_rule), h,
                            scale_rule_value(spec.scale_rule, n.d, n.E), h, s);
      break;
    case ScaleRule::none:
      formula = lhs + " × 1 (scale \"none\": no scaling)";
      break;
    case ScaleRule::custom:
      formula = fmt::format("{} × {:.6g}", lhs, s);
      break;
  }
  const std::string LxS = dims_text({n.L, n.S});
  return {.formula = formula, .shapes = LxS + " → " + LxS + layout.repeat(scaled, true)};
}

StageWords masking_words(const Spec& spec, const Layout& layout, const Tensor& masked) {
  const Sizes& n = layout.n;
  const bool float_mask = spec.masks.attn_mask && !spec.masks.attn_mask->boolean;
  const std::string LxS = dims_text({n.L, n.S});
  return {.formula =
              fmt::format("masked{0} = scaled{0} + M{0},   M{0}[i,j] = {1}", head_sub(layout),
                          float_mask ? "attn_mask[i,j], or −∞ where a mask blocks key j for query i"
                                     : "0 where query i may attend key j, −∞ where it is blocked"),
          .shapes = fmt::format("{} + {} → {}", LxS, LxS, LxS) + layout.repeat(masked, true),
          .note = mask_note(spec)};
}

StageWords softmax_words(const Layout& layout, const Tensor& weights, std::string_view input) {
  const Sizes& n = layout.n;
  const std::string h = head_sub(layout), LxS = dims_text({n.L, n.S});
  return {
      .formula = fmt::format(
          "weights{0}[i,j] = exp({1}{0}[i,j] − m_i) / Σ_k exp({1}{0}[i,k] − m_i)", h, input),
      .shapes = LxS + " → " + LxS + layout.repeat(weights, true),
      .note = fmt::format("m_i = max_k {}{}[i,k], the row's largest score: subtracting it keeps "
                          "exp from overflowing and does not change the result. Each row sums to "
                          "1: how much one query attends to each key.",
                          input, h)};
}

StageWords weighted_words(const Layout& layout, const Tensor& weighted) {
  const Sizes& n = layout.n;
  return {
      .formula = fmt::format("weighted{0}[i,j,:] = weights{0}[i,j] · V{0}[j,:]", head_sub(layout)),
      .shapes = fmt::format("{} ⊙ {} → {}", dims_text({n.L, n.S, 1}), dims_text({1, n.S, n.d}),
                            dims_text({n.L, n.S, n.d})) +
                layout.repeat(weighted, true),
      .note =
          "Each key's value row, scaled by how much the query attends to that key "
          "(broadcast over the last axis)."};
}

StageWords summation_words(const Layout& layout, const Tensor& context) {
  const Sizes& n = layout.n;
  return {.formula = fmt::format(
              "context{0}[i,:] = Σ_j weighted{0}[i,j,:]   (the same as weights{0}·V{0})",
              head_sub(layout)),
          .shapes = fmt::format("{} → {}", dims_text({n.L, n.S, n.d}), dims_text({n.L, n.d})) +
                    layout.repeat(context, true)};
}

StageWords merge_words(const Layout& layout, const Tensor& merged) {
  const Sizes& n = layout.n;
  std::string parts;
  if (n.H <= 4) {
    std::vector<std::string> names;
    for (Index head = 0; head < n.H; ++head) names.push_back(fmt::format("context_{}", head));
    parts = fmt::format("{}", fmt::join(names, " | "));
  } else {
    parts = fmt::format("context_0 | context_1 | … | context_{}", n.H - 1);
  }
  return {.formula = fmt::format("context = [{}]", parts),
          .shapes = fmt::format("{} × {} → {}", n.H, dims_text({n.L, n.d}), dims_text({n.L, n.D})) +
                    layout.repeat(merged, false)};
}

StageWords out_proj_words(const Spec& spec, const Layout& layout, const Tensor& output) {
  return {.formula = fmt::format("output = {}", linear_formula(spec, "context", "W_o", "b_o",
                                                               spec.out_proj->bias.has_value())),
          .shapes = linear_shapes(spec, layout.n.L, *spec.out_proj) + layout.repeat(output, false)};
}

std::string_view skip_reason(StageId id) {
  switch (id) {
    case StageId::extra_keys:
      return "it exists only with bias_k/bias_v (add_bias_kv) or add_zero_attn";
    case StageId::split_heads:
    case StageId::merge_heads:
      return "it exists only with num_heads > 1";
    case StageId::masking:
      return "no mask was given (mask, attn_mask or key_padding_mask)";
    case StageId::out_proj:
      return "the input gives no output projection (out_proj.weight or W_o)";
    default:  // every trace has the other stages
      return "";
  }
}

bool blocked_row(const MatrixRef& additive, const MatrixRef& weights, Index i) {
  return additive.row(i).unaryExpr([](double m) { return blocks_key(m); }).all() &&
         weights.row(i).array().isNaN().all();
}

std::optional<std::string> blocked_row_warning(const Spec& spec, std::vector<BlockedRow> found,
                                               Index heads) {
  constexpr std::size_t max_named = 6;
  std::sort(found.begin(), found.end());
  std::vector<std::string> rows;
  for (std::size_t k = 0; k < found.size() && k < max_named; ++k) {
    const BlockedRow& r = found[k];
    std::vector<std::string> where;
    if (heads > 1) where.push_back(fmt::format("head {}", r.head));
    if (spec.batched) where.push_back(fmt::format("batch {}", r.batch));
    rows.push_back(query_label(spec, r.batch, r.query) +
                   (where.empty() ? "" : fmt::format(" in {}", fmt::join(where, ", "))));
  }
  const std::size_t total = found.size();
  if (total == 0) return std::nullopt;
  if (total > max_named) rows.push_back(fmt::format("{} more", total - max_named));
  return fmt::format(
      "every key is blocked for query {}: a softmax over nothing but −inf is 0/0, so {} weights "
      "are nan, as in nn.MultiheadAttention, and so are the context and output rows computed "
      "from them",
      fmt::join(rows, "; "), total == 1 ? "its" : "their");
}

std::optional<std::string> non_finite_warning(const Spec& spec, const std::vector<Stage>& stages,
                                              bool blocked_rows) {
  const std::vector<std::string> given = non_finite_inputs(spec);
  for (const Stage& stage : stages) {
    const bool masking = stage.id == StageId::masking;
    if (blocked_rows && stage.id == StageId::softmax) return std::nullopt;
    for (const Tensor& t : stage.tensors) {
      std::size_t bad = 0;
      for (double v : t.data) {
        bad +=
            std::isfinite(v) || (masking && v == -std::numeric_limits<double>::infinity()) ? 0 : 1;
      }
      if (bad == 0) continue;
      // A tensor held in part (a long one a walkthrough summarises) counts the rows it holds.
      const std::string of =
          t.partly_held()
              ? fmt::format("{} of the {} numbers held of {}", bad, t.data.size(), t.name)
              : fmt::format("{} of {} numbers of {}", bad, t.size(), t.name);
      if (!given.empty()) {
        return fmt::format(
            "{}: {} are not finite (inf or nan): the input gives NaN or ±Infinity in {}, and "
            "every number computed from one of them is inf or nan too, as in PyTorch",
            stage_name(stage.id), of, fmt::join(given, ", "));
      }
      return fmt::format(
          "{}: {} are not finite (inf or nan): the values are beyond double precision, and every "
          "later stage inherits them",
          stage_name(stage.id), of);
    }
  }
  return std::nullopt;
}

}  // namespace attn_trace
