// The catalogue of classic mistakes (mistakes.hpp), one function per stage where they are made.
// Each mistake computes what a learner's code that makes it computes; docs/check.md shows each
// with a minimal example.
#include "mistakes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stages.hpp"

namespace attn_trace::replay {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// A stand-in at one node only.
Override at(Node target, std::function<Blocks(const Flow&)> value) {
  return [target, value = std::move(value)](Node node, const Flow& flow) -> std::optional<Blocks> {
    if (node != target) return std::nullopt;
    return value(flow);
  };
}

// Stand-ins at two nodes, the first one's where both would answer.
Override both(Override first, Override second) {
  return [first = std::move(first), second = std::move(second)](
             Node node, const Flow& flow) -> std::optional<Blocks> {
    if (auto value = first(node, flow)) return value;
    return second(node, flow);
  };
}

// "1/√6 ≈ 0.408"
std::string number(double x) {
  std::string text = fmt::format("{:.4g}", x);  // −1e9, not −1e+09
  if (const auto e = text.find('e'); e != std::string::npos) {
    std::size_t digits = e + 1;
    if (digits < text.size() && text[digits] == '+') text.erase(digits, 1);
    if (digits < text.size() && text[digits] == '-') ++digits;
    while (digits + 1 < text.size() && text[digits] == '0') text.erase(digits, 1);
  }
  if (text.starts_with('-')) text = "−" + text.substr(1);
  return text;
}

// ---- projections: Q, K, V = x·Wᵀ + b ----

// Q, K and V computed with these maps (none: the input itself) from the query and key inputs.
Override projected_with(std::optional<Linear> q, std::optional<Linear> k, std::optional<Linear> v) {
  return [q = std::move(q), k = std::move(k), v = std::move(v)](
             Node node, const Flow& flow) -> std::optional<Blocks> {
    const Spec& spec = flow.spec;
    const std::optional<Linear>* linear = node == Node::Q   ? &q
                                          : node == Node::K ? &k
                                          : node == Node::V ? &v
                                                            : nullptr;
    if (!linear) return std::nullopt;
    Blocks blocks;
    for (Index b = 0; b < flow.n.B; ++b) {
      const bool self = node == Node::Q || spec.key_source == KeySource::self;
      const Matrix& x = self ? flow[Node::X][count_of(b)]
                             : (node == Node::K ? spec.key_input(b) : spec.value_input(b));
      blocks.push_back(*linear ? project(x, **linear) : x);
    }
    return blocks;
  };
}

bool nonzero_bias(const std::optional<Linear>& linear) {
  return linear && linear->bias && !linear->bias->isZero(0);
}

bool square(const std::optional<Linear>& linear) {
  return linear && linear->weight.rows() == linear->weight.cols();
}

std::optional<Linear> transposed(const std::optional<Linear>& linear) {
  return Linear{linear->weight.transpose(), linear->bias};
}

std::optional<Linear> without_bias(const std::optional<Linear>& linear) {
  if (!linear) return linear;
  return Linear{linear->weight, std::nullopt};
}

void projection_mistakes(const Flow& flow, std::vector<Mistake>& list) {
  const Spec& spec = flow.spec;
  if (!spec.learned_projections()) return;
  const std::optional<Linear>* maps[3] = {&spec.q_proj, &spec.k_proj, &spec.v_proj};
  const bool same_shapes = spec.key_source == KeySource::self &&
                           spec.q_proj->weight.rows() == spec.k_proj->weight.rows() &&
                           spec.q_proj->weight.rows() == spec.v_proj->weight.rows() &&
                           spec.q_proj->weight.cols() == spec.k_proj->weight.cols() &&
                           spec.q_proj->weight.cols() == spec.v_proj->weight.cols();
  if (same_shapes) {
    std::array<int, 3> order = {0, 1, 2};
    while (std::next_permutation(order.begin(), order.end())) {
      constexpr char names[] = {'q', 'k', 'v'};
      list.push_back(
          {"qkv_order", StageId::projections, Node::Q, Node::V,
           fmt::format("Q, K and V were computed with the weights of {}, {} and {}: use W_q "
                       "for Q, W_k for K and W_v for V. A packed in_proj_weight holds W_q in "
                       "rows 0…D−1, then W_k, then W_v (q, k, v = in_proj_weight.chunk(3)), and "
                       "in_proj_bias likewise.",
                       names[order[0]], names[order[1]], names[order[2]]),
           projected_with(*maps[order[0]], *maps[order[1]], *maps[order[2]])});
    }
  }
  if (square(spec.q_proj) && square(spec.k_proj) && square(spec.v_proj)) {
    list.push_back(
        {"weights_transposed", StageId::projections, Node::Q, Node::V,
         spec.weight_layout == WeightLayout::torch
             ? "Q, K and V were computed as x @ W where nn.Linear computes x @ W.T + b: PyTorch "
               "stores each weight as (out, in), so multiply by its transpose (or call the "
               "nn.Linear itself)."
             : "Q, K and V were computed as x @ W.T where this input's weights are (in, out), "
               "as the tutorial writes them: multiply by W itself, Q = x @ W_q + b_q.",
         projected_with(transposed(spec.q_proj), transposed(spec.k_proj),
                        transposed(spec.v_proj))});
  }
  if (nonzero_bias(spec.q_proj) || nonzero_bias(spec.k_proj) || nonzero_bias(spec.v_proj)) {
    list.push_back({"bias_missing", StageId::projections, Node::Q, Node::V,
                    "Q, K and V were computed without their biases: add b_q, b_k and b_v (the "
                    "three thirds of in_proj_bias) to x·Wᵀ.",
                    projected_with(without_bias(spec.q_proj), without_bias(spec.k_proj),
                                   without_bias(spec.v_proj))});
  }
}

// ---- split_heads: head h takes columns h·d … (h+1)·d − 1 ----

// How a learner's code may cut head h (of H) out of a (L, D) projection, d = D / H columns wide.
enum class Split {
  interleaved,   // reshape(L, d, H)[:, :, h]: every H-th column, from column h
  no_transpose,  // reshape(H, L, d)[h]: the h-th run of L·d numbers, row after row
};

Matrix head_of(const Matrix& whole, Index h, Index heads, Split split) {
  const Index L = whole.rows(), D = whole.cols(), d = D / heads;
  Matrix head(L, d);
  for (Index i = 0; i < L; ++i) {
    for (Index j = 0; j < d; ++j) {
      if (split == Split::interleaved) {
        head(i, j) = whole(i, j * heads + h);
      } else {
        const Index flat = (h * L + i) * d + j;
        head(i, j) = whole(flat / D, flat % D);
      }
    }
  }
  return head;
}

Override split_as(Split split) {
  return [split](Node node, const Flow& flow) -> std::optional<Blocks> {
    const Node whole = node == Node::Q_h   ? Node::Q
                       : node == Node::K_h ? flow.source(Node::K_ext)
                       : node == Node::V_h ? flow.source(Node::V_ext)
                                           : Node::X;
    if (whole == Node::X) return std::nullopt;
    return per_head(flow.n, [&](Index b, Index h) {
      return head_of(flow[whole][count_of(b)], h, flow.n.heads, split);
    });
  };
}

// The heads put back together: cell (i, j) of head h at flat position `at(h, i, j)` of the (L, D)
// result.
Override merged_as(std::function<Index(const Sizes& n, Index h, Index i, Index j)> at_flat) {
  return at(Node::context, [at_flat = std::move(at_flat)](const Flow& now) {
    const Sizes& n = now.n;
    const Blocks& heads = now[Node::context_h];
    Blocks blocks;
    for (Index b = 0; b < n.B; ++b) {
      Matrix m(n.L, n.d * n.heads);
      for (Index h = 0; h < n.heads; ++h) {
        const Matrix& head = heads[count_of(b * n.heads + h)];
        for (Index i = 0; i < n.L; ++i) {
          for (Index j = 0; j < n.d; ++j) m.data()[at_flat(n, h, i, j)] = head(i, j);
        }
      }
      blocks.push_back(std::move(m));
    }
    return blocks;
  });
}

// Stacked on a last axis and reshaped, (L, d, H) → (L, D): column j·H + h.
Override interleaved_merge() {
  return merged_as(
      [](const Sizes& n, Index h, Index i, Index j) { return i * n.D + j * n.heads + h; });
}

// The (H, L, d) heads reshaped to (L, D) without the transpose back: their numbers in a row.
Override untransposed_merge() {
  return merged_as(
      [](const Sizes& n, Index h, Index i, Index j) { return (h * n.L + i) * n.d + j; });
}

void split_mistakes(const Flow& flow, std::vector<Mistake>& list) {
  if (!flow.has(Node::Q_h)) return;
  const Index H = flow.n.H, d = flow.n.d;
  const std::string right = fmt::format(
      "split with q.view(L, {H}, {d}).transpose(0, 1), so that head h takes columns h·{d} … "
      "(h+1)·{d} − 1.",
      fmt::arg("d", d), fmt::arg("H", H));
  const std::string interleaved = fmt::format(
      "The heads were split with reshape(L, {d}, {H}), which gives head h the columns h, h + "
      "{H}, h + {H2}, …: ",
      fmt::arg("d", d), fmt::arg("H", H), fmt::arg("H2", 2 * H));
  const std::string untransposed = fmt::format(
      "The heads were split with reshape({H}, L, {d}) with no transpose, which cuts the numbers "
      "of Q row after row into {H} runs instead of taking columns: ",
      fmt::arg("d", d), fmt::arg("H", H));
  list.push_back({"heads_interleaved", StageId::split_heads, Node::Q_h, Node::V_h,
                  interleaved + right, split_as(Split::interleaved)});
  list.push_back({"heads_interleaved", StageId::split_heads, Node::Q_h, Node::V_h,
                  untransposed + right, split_as(Split::no_transpose)});
  if (flow.has(Node::context)) {
    const std::string undone =
        " The merge undid the same reshape, so each head saw the wrong "
        "columns but its context went back where it came from.";
    list.push_back({"heads_interleaved", StageId::split_heads, Node::Q_h, Node::context,
                    interleaved + right + undone,
                    both(split_as(Split::interleaved), interleaved_merge())});
    list.push_back({"heads_interleaved", StageId::split_heads, Node::Q_h, Node::context,
                    untransposed + right + undone,
                    both(split_as(Split::no_transpose), untransposed_merge())});
  }
}

// ---- scaling: scaled = scores × 1/√d ----

void scale_mistakes(const Flow& flow, std::vector<Mistake>& list) {
  const Spec& spec = flow.spec;
  if (spec.scale_rule != ScaleRule::head_dim) return;  // the input chose its own scale
  const double right = spec.scale();
  const Index E = spec.embed_dim(), D = flow.n.D, d = flow.n.d;
  const auto scaled_by = [](double s) {
    return at(Node::scaled, [s](const Flow& now) {
      return each(now[Node::scores], [s](const Matrix& m) { return scale_scores(m, s); });
    });
  };
  const auto differs = [&](double s) { return std::abs(s - right) > 1e-12 * right; };
  std::set<Index> widths = {E, D};
  for (Index width : widths) {
    const double s = 1.0 / std::sqrt(static_cast<double>(width));
    if (!differs(s)) continue;
    list.push_back(
        {"scale_sqrt_embed", StageId::scaling, Node::scaled, Node::scaled,
         fmt::format("The scores were scaled by 1/√{w} ≈ {s}, the width of {what}, instead of "
                     "1/√d = 1/√{d} ≈ {right}: each head's dot products add up d = {D}/{H} = {d} "
                     "products, so divide by math.sqrt(head_dim).",
                     fmt::arg("w", width), fmt::arg("s", number(s)),
                     fmt::arg("what", width == E ? "the embedding (E)" : "all heads (D)"),
                     fmt::arg("d", d), fmt::arg("right", number(right)), fmt::arg("D", D),
                     fmt::arg("H", flow.n.H)),
         scaled_by(s)});
  }
  if (differs(1.0)) {
    list.push_back({"scale_missing", StageId::scaling, Node::scaled, Node::scaled,
                    fmt::format("The scores were not scaled: multiply Q·Kᵀ by 1/√d = 1/√{} ≈ {} "
                                "(divide by math.sqrt(d)) before the softmax.",
                                d, number(right)),
                    scaled_by(1.0)});
  }
  const double by_d = 1.0 / static_cast<double>(d);
  if (differs(by_d)) {
    list.push_back({"scale_by_d", StageId::scaling, Node::scaled, Node::scaled,
                    fmt::format("The scores were divided by d = {} instead of √d ≈ {}: scale by "
                                "1/math.sqrt(d).",
                                d, number(std::sqrt(static_cast<double>(d)))),
                    scaled_by(by_d)});
  }
}

// ---- masking: masked = scaled + M ----

// Whether mask column j of this block is one the input's masks speak for (not an extra key's).
Index given_keys(const Flow& flow) {
  return flow.n.S - flow.spec.extra_keys();
}

// masked, with each cell as `cell(i, j, scaled, additive)` gives it.
Override masked_as(std::function<double(Index i, Index j, double scaled, double additive)> cell) {
  return at(Node::masked, [cell = std::move(cell)](const Flow& now) {
    const Blocks& scaled = now[Node::scaled];
    return parallel_blocks(scaled.size(), [&](std::size_t k) {
      const Matrix& additive = now.additive()[k];
      Matrix m(scaled[k].rows(), scaled[k].cols());
      for (Index i = 0; i < m.rows(); ++i) {
        for (Index j = 0; j < m.cols(); ++j) m(i, j) = cell(i, j, scaled[k](i, j), additive(i, j));
      }
      return m;
    });
  });
}

// Every cell of the given keys' columns is 0 or blocked, `blocked(i, j)` says which.
bool mask_is(const Flow& flow, const std::function<bool(Index i, Index j, double additive)>& rule) {
  const Index keys = given_keys(flow);
  for (const Matrix& m : flow.additive()) {
    for (Index i = 0; i < m.rows(); ++i) {
      for (Index j = 0; j < keys; ++j) {
        if (!rule(i, j, m(i, j))) return false;
      }
    }
  }
  return true;
}

// The finite numbers the learner wrote where the mask blocks (as is, and as added to the scaled
// scores), when each is one number in every blocked cell.
std::vector<std::pair<bool, double>> learner_fills(const Flow& flow, const Blocks& masked) {
  std::optional<double> fill, added;
  bool same_fill = true, same_added = true;
  const Blocks& scaled = flow[Node::scaled];
  for (std::size_t k = 0; k < masked.size() && k < scaled.size(); ++k) {
    const Matrix& additive = flow.additive()[k];
    for (Index i = 0; i < additive.rows(); ++i) {
      for (Index j = 0; j < additive.cols(); ++j) {
        if (!blocks_key(additive(i, j))) continue;
        const double value = masked[k](i, j), plus = value - scaled[k](i, j);
        if (!fill) fill = value, added = plus;
        same_fill = same_fill && std::abs(value - *fill) <= 1e-6 * (1 + std::abs(*fill));
        same_added = same_added && std::abs(plus - *added) <= 1e-6 * (1 + std::abs(*added));
      }
    }
  }
  std::vector<std::pair<bool, double>> found;
  if (fill && same_fill && std::isfinite(*fill)) found.emplace_back(true, *fill);
  if (added && same_added && std::isfinite(*added)) found.emplace_back(false, *added);
  return found;
}

// What mask_not_infinite says of blocked scores filled with c (or given c more).
std::string not_infinite_text(bool fill, double c) {
  const std::string how = fill     ? fmt::format("set to {}", number(c))
                          : c == 0 ? std::string("left as they were (the mask added 0)")
                                   : fmt::format("given {} more", number(c));
  if (fill && blocks_key(c)) {
    return fmt::format(
        "The blocked scores were {} instead of −∞. exp still gives those keys a weight of 0 "
        "here, so the weights can come out right, but PyTorch adds −∞ (float('-inf')): that also "
        "holds in float16, where {} overflows, and leaves a query whose every key is blocked nan, "
        "not spread evenly.",
        how, number(c));
  }
  return fmt::format(
      "The blocked scores were {} instead of −∞, so the softmax still gives the blocked keys "
      "some weight: fill them with float('-inf') (scores.masked_fill(mask == 0, "
      "float('-inf'))).",
      how);
}

void mask_mistakes(const Flow& flow, const Blocks* given_masked, std::vector<Mistake>& list) {
  if (!flow.has(Node::masked)) return;
  const Index keys = given_keys(flow);
  const bool boolean =
      mask_is(flow, [](Index, Index, double a) { return a == 0 || blocks_key(a); });
  if (boolean) {
    list.push_back({"mask_inverted", StageId::masking, Node::masked, Node::masked,
                    "The mask was read the other way round, blocking the keys it keeps: in the "
                    "tutorials' mask 1 means \"may attend\" and 0 \"blocked\" (masked_fill(mask "
                    "== 0, -inf)), while nn.MultiheadAttention's boolean attn_mask and "
                    "key_padding_mask mean the opposite (True = blocked).",
                    masked_as([keys](Index, Index j, double s, double a) {
                      if (j >= keys) return s + a;
                      return blocks_key(a) ? s : -inf;
                    })});
  }
  if (mask_is(flow, [](Index i, Index j, double a) { return blocks_key(a) == (j > i); })) {
    const auto causal = [keys](Index shift) {
      return masked_as([keys, shift](Index i, Index j, double s, double a) {
        if (j >= keys) return s + a;
        return j > i + shift ? -inf : s;
      });
    };
    list.push_back({"causal_off_by_one", StageId::masking, Node::masked, Node::masked,
                    "The causal mask also blocks the diagonal, so a token cannot see itself: "
                    "query i may attend keys 0 … i, so block torch.triu(torch.ones(L, L), "
                    "diagonal=1), not diagonal=0.",
                    causal(-1)});
    list.push_back({"causal_off_by_one", StageId::masking, Node::masked, Node::masked,
                    "The causal mask is one key too wide, so each token also sees the next one: "
                    "query i may attend keys 0 … i only, so block torch.triu(torch.ones(L, L), "
                    "diagonal=1), not diagonal=2 (or keep torch.tril(…, diagonal=0)).",
                    causal(1)});
  }
  // Filled with c (masked_fill(mask == 0, c)), or c added (scores + c·(1 − mask)).
  std::vector<std::pair<bool, double>> fills;
  for (double c : {0.0, -1.0, -10.0, -100.0, -1e3, -1e4}) {
    fills.emplace_back(true, c);
    fills.emplace_back(false, c);
  }
  if (given_masked) {
    const auto found = learner_fills(flow, *given_masked);
    fills.insert(fills.begin(), found.begin(), found.end());
  }
  for (const auto& [fill, c] : fills) {
    list.push_back({"mask_not_infinite", StageId::masking, Node::masked, Node::masked,
                    not_infinite_text(fill, c),
                    masked_as([fill = fill, c = c](Index, Index, double s, double a) {
                      if (!blocks_key(a)) return s + a;
                      return fill ? c : s + c;
                    })});
  }
}

// ---- softmax: weights = softmax of each row ----

// exp(x) / Σ exp(x) with no maximum subtracted, in float (as float32 code computes it) or double.
template <typename Real>
Matrix naive_softmax(const Matrix& logits) {
  Matrix weights(logits.rows(), logits.cols());
  for (Index i = 0; i < logits.rows(); ++i) {
    Real sum = 0;
    for (Index j = 0; j < logits.cols(); ++j) sum += std::exp(static_cast<Real>(logits(i, j)));
    for (Index j = 0; j < logits.cols(); ++j) {
      weights(i, j) = static_cast<double>(std::exp(static_cast<Real>(logits(i, j))) / sum);
    }
  }
  return weights;
}

void softmax_mistakes(const Flow& flow, std::vector<Mistake>& list) {
  const Node logits = flow.source(Node::masked);
  list.push_back({"softmax_wrong_axis", StageId::softmax, Node::weights, Node::weights,
                  "The softmax normalised each column (over the queries) instead of each row "
                  "(over the keys): use softmax(dim=-1), so that each query's weights sum to 1.",
                  at(Node::weights, [logits](const Flow& now) {
                    return each(now[logits], [](const Matrix& m) -> Matrix {
                      return softmax_rows(m.transpose()).transpose();
                    });
                  })});
  if (flow.has(Node::masked)) {
    list.push_back(
        {"mask_after_softmax", StageId::softmax, Node::weights, Node::weights,
         "The weights of the blocked keys were set to 0 after the softmax, so the rows no longer "
         "sum to 1: mask before the softmax, adding −∞ to the blocked scores "
         "(masked_fill(mask == 0, float('-inf'))), and let the softmax share the weight among the "
         "keys that are left.",
         // The softmax of the unmasked scaled scores, then the blocked weights zeroed.
         at(Node::weights, [](const Flow& now) {
           Blocks blocks =
               each(now[Node::scaled], [](const Matrix& m) -> Matrix { return softmax_rows(m); });
           for (std::size_t k = 0; k < blocks.size(); ++k) {
             const Matrix& additive = now.additive()[k];
             for (Index i = 0; i < additive.rows(); ++i) {
               for (Index j = 0; j < additive.cols(); ++j) {
                 if (blocks_key(additive(i, j))) blocks[k](i, j) = 0;
               }
             }
           }
           return blocks;
         })});
  }
  const std::string overflow =
      "exp overflowed: without subtracting each row's maximum first, exp of a large score is "
      "inf, and inf/inf is nan. Use torch.softmax, or subtract x.max(dim=-1, keepdim=True) "
      "before exp; it does not change the result.";
  list.push_back({"softmax_overflow", StageId::softmax, Node::weights, Node::weights, overflow,
                  at(Node::weights, [logits](const Flow& now) {
                    return each(now[logits], naive_softmax<float>);
                  })});
  list.push_back({"softmax_overflow", StageId::softmax, Node::weights, Node::weights, overflow,
                  at(Node::weights, [logits](const Flow& now) {
                    return each(now[logits], naive_softmax<double>);
                  })});
}

// ---- summation: context = weights·V ----

void context_mistakes(const Flow& flow, std::vector<Mistake>& list) {
  const Sizes& n = flow.n;
  const Node values = flow.source(Node::V_h);
  const std::string text =
      "The weighted sum ran over the wrong axis: each query's context is its row of weights "
      "times V, context = weights @ V, (L, S)·(S, d) → (L, d).";
  // context = product(weights, V) for each block, in place of weights·V.
  const auto context_as = [values](Matrix (*product)(const Matrix& weights, const Matrix& v)) {
    return at(Node::context_h, [values, product](const Flow& now) {
      const Blocks& weights = now[Node::weights];
      return parallel_blocks(weights.size(),
                             [&](std::size_t k) { return product(weights[k], now[values][k]); });
    });
  };
  if (n.L == n.S) {
    list.push_back(
        {"context_wrong_axis", StageId::summation, Node::context_h, Node::context_h,
         text + " weights.T @ V adds up each key's weights over the queries.",
         context_as([](const Matrix& w, const Matrix& v) -> Matrix { return w.transpose() * v; })});
  }
  if (n.S == n.d) {
    list.push_back(
        {"context_wrong_axis", StageId::summation, Node::context_h, Node::context_h,
         text + " weights @ V.T mixes V's features instead of its rows.",
         context_as([](const Matrix& w, const Matrix& v) -> Matrix { return w * v.transpose(); })});
  }
}

// ---- merge_heads: the heads side by side ----

void merge_mistakes(const Flow& flow, std::vector<Mistake>& list) {
  if (!flow.has(Node::context)) return;
  const Index H = flow.n.heads, d = flow.n.d, D = flow.n.D;
  const std::string right = fmt::format(
      "put the heads side by side, head h in columns h·{d} … (h+1)·{d} − 1: "
      "context.transpose(0, 1).reshape(L, {D}).",
      fmt::arg("d", d), fmt::arg("D", D));
  list.push_back(
      {"heads_merge_order", StageId::merge_heads, Node::context, Node::context,
       "The heads were merged interleaved (stacked on a last axis, then reshaped): " + right,
       interleaved_merge()});
  list.push_back({"heads_merge_order", StageId::merge_heads, Node::context, Node::context,
                  fmt::format("The heads' ({}, L, {}) context was reshaped to (L, {}) without "
                              "the transpose back, which lays their numbers out row after row: ",
                              H, d, D) +
                      right,
                  untransposed_merge()});
  std::vector<Index> order(count_of(H));
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::vector<Index>> orders;
  if (H <= 4) {
    while (std::next_permutation(order.begin(), order.end())) orders.push_back(order);
  } else {
    orders.emplace_back(order.rbegin(), order.rend());
  }
  for (const auto& heads : orders) {
    std::vector<Index> place(heads.size());
    for (std::size_t k = 0; k < heads.size(); ++k) place[count_of(heads[k])] = Index(k);
    list.push_back(
        {"heads_merge_order", StageId::merge_heads, Node::context, Node::context,
         fmt::format("The heads were concatenated in the order {}: ", fmt::join(heads, ", ")) +
             right,
         merged_as([place](const Sizes& n, Index h, Index i, Index j) {
           return i * n.D + place[count_of(h)] * n.d + j;
         })});
  }
}

// ---- out_proj: output = context·W_oᵀ + b_o ----

Override out_with(std::optional<Linear> linear) {
  return at(Node::output, [linear = std::move(linear)](const Flow& now) {
    Blocks blocks;
    for (const Matrix& context : now[now.source(Node::context)]) {
      blocks.push_back(linear ? project(context, *linear) : context);
    }
    return blocks;
  });
}

void out_proj_mistakes(const Flow& flow, std::vector<Mistake>& list) {
  const Spec& spec = flow.spec;
  if (!spec.out_proj) return;
  if (square(spec.out_proj)) {
    list.push_back({"weights_transposed", StageId::out_proj, Node::output, Node::output,
                    spec.weight_layout == WeightLayout::torch
                        ? "The output was computed as context @ W_o where nn.Linear computes "
                          "context @ W_o.T + b_o: out_proj.weight is stored (out, in)."
                        : "The output was computed as context @ W_o.T where this input's W_o is "
                          "(in, out): multiply by W_o itself.",
                    out_with(transposed(spec.out_proj))});
  }
  if (nonzero_bias(spec.out_proj)) {
    list.push_back({"bias_missing", StageId::out_proj, Node::output, Node::output,
                    "The output was computed without out_proj's bias: add b_o (out_proj.bias) to "
                    "context·W_oᵀ.",
                    out_with(without_bias(spec.out_proj))});
  }
  if (spec.out_proj->weight.rows() == flow.n.D) {
    list.push_back({"out_proj_missing", StageId::out_proj, Node::output, Node::output,
                    "out_proj was left out: the output is the merged context times W_oᵀ plus "
                    "b_o (self.out_proj(context)), not the context itself.",
                    out_with(std::nullopt)});
  }
}

}  // namespace

std::vector<Mistake> mistakes_for(const Flow& flow, const Blocks* given_masked) {
  std::vector<Mistake> list;
  projection_mistakes(flow, list);
  split_mistakes(flow, list);
  scale_mistakes(flow, list);
  mask_mistakes(flow, given_masked, list);
  softmax_mistakes(flow, list);
  context_mistakes(flow, list);
  merge_mistakes(flow, list);
  out_proj_mistakes(flow, list);
  return list;
}

std::vector<std::string_view> mistake_ids() {
  return {"qkv_order",         "weights_transposed", "bias_missing",       "heads_interleaved",
          "scale_sqrt_embed",  "scale_missing",      "scale_by_d",         "mask_inverted",
          "causal_off_by_one", "mask_not_infinite",  "softmax_wrong_axis", "mask_after_softmax",
          "softmax_overflow",  "context_wrong_axis", "heads_merge_order",  "out_proj_missing"};
}

}  // namespace attn_trace::replay
