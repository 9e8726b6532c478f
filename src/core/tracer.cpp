// The driver: self-attention in paper order. Each step computes one stage's tensors with the pure
// functions of stages.hpp and records them, with title, formula and shape algebra, into the trace.
#include "attn_trace/core/tracer.hpp"

#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stages.hpp"

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
// The masking stage's −inf are its point, not a problem; and once a query row has every key
// blocked, the nan from there on are explained by their own warning (blocked_row_warning).
void warn_non_finite(Trace& trace, bool blocked_rows) {
  for (const Stage& stage : trace.stages) {
    const bool masking = stage.id == "masking";
    if (blocked_rows && stage.id == "softmax") return;
    for (const Tensor& t : stage.tensors) {
      std::size_t bad = 0;
      for (double v : t.data) {
        bad +=
            std::isfinite(v) || (masking && v == -std::numeric_limits<double>::infinity()) ? 0 : 1;
      }
      if (bad == 0) continue;
      trace.warnings.push_back(fmt::format(
          "{}: {} of {} numbers of {} are not finite (inf or nan): the values are beyond double "
          "precision, and every later stage inherits them",
          stage.id, bad, t.size(), t.name));
      return;
    }
  }
}

// The label of query i of batch b: `am` (row 1).
std::string query_label(const Spec& spec, Index b, Index i) {
  const std::string& token = spec.tokens[count(b)][count(i)];
  return token == std::to_string(i) ? fmt::format("row {}", i)
                                    : fmt::format("\"{}\" (row {})", token, i);
}

// A warning naming every query row whose keys are all blocked (after `masked`): PyTorch's softmax
// of such a row is 0/0 = nan, and so is everything computed from it.
std::optional<std::string> blocked_row_warning(const Spec& spec, const Tensor& masked,
                                               Index heads) {
  constexpr std::size_t max_named = 6;
  std::vector<std::string> rows;
  std::size_t total = 0;
  for (std::size_t block = 0; block < masked.block_count(); ++block) {
    const auto m = masked.block(block);
    const Index b = static_cast<Index>(block) / heads, h = static_cast<Index>(block) % heads;
    for (Index i = 0; i < m.rows(); ++i) {
      if (!(m.row(i).array() == -std::numeric_limits<double>::infinity()).all()) continue;
      if (++total > max_named) continue;
      std::vector<std::string> where;
      if (heads > 1) where.push_back(fmt::format("head {}", h));
      if (spec.batched) where.push_back(fmt::format("batch {}", b));
      rows.push_back(query_label(spec, b, i) +
                     (where.empty() ? "" : fmt::format(" in {}", fmt::join(where, ", "))));
    }
  }
  if (total == 0) return std::nullopt;
  if (total > max_named) rows.push_back(fmt::format("{} more", total - max_named));
  return fmt::format(
      "every key is blocked for query {}: a softmax over nothing but −inf is 0/0, so {} weights "
      "are nan, as in nn.MultiheadAttention, and so are the context and output rows computed "
      "from them",
      fmt::join(rows, "; "), total == 1 ? "its" : "their");
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
    std::string shape =
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

// Each mask as the user gave it, for the masking stage: booleans stay booleans, "causal" becomes
// its keep-matrix, and a 3-D attn_mask (B·H, L, S) is shown as (B, H, L, S), the way PyTorch reads
// it.
void append_given_masks(const Spec& spec, std::vector<Tensor>& out) {
  using enum Axis;
  const Masks& masks = spec.masks;
  const Index heads = spec.num_heads;
  const auto tensor = [](std::string name, std::vector<Axis> axes, Dims dims,
                         const std::vector<Matrix>& blocks, bool boolean) {
    Tensor t = make_tensor(std::move(name), std::move(axes), std::move(dims));
    t.boolean = boolean;
    for (std::size_t n = 0; n < blocks.size(); ++n) t.set_block(n, blocks[n]);
    return t;
  };
  if (masks.mask) {
    const Matrix& first = masks.mask->keep.front();
    const Dims block = {count(first.rows()), count(first.cols())};
    out.push_back(masks.mask->per_batch
                      ? tensor("mask", {batch, query, key},
                               {count(spec.batch_size()), block[0], block[1]}, masks.mask->keep,
                               false)
                      : tensor("mask", {query, key}, block, masks.mask->keep, false));
  }
  if (masks.attn_mask) {
    const AttnMask& a = *masks.attn_mask;
    const Matrix& first = a.blocks.front();
    std::vector<Axis> axes = {query, key};
    Dims dims = {count(first.rows()), count(first.cols())};
    if (a.per_head && heads > 1) {
      axes.insert(axes.begin(), head);
      dims.insert(dims.begin(), count(heads));
    }
    if (a.per_head && spec.batched) {
      axes.insert(axes.begin(), batch);
      dims.insert(dims.begin(), count(spec.batch_size()));
    }
    out.push_back(tensor("attn_mask", std::move(axes), std::move(dims), a.blocks, a.boolean));
  }
  if (masks.key_padding_mask) {
    const std::vector<Vector>& ignore = masks.key_padding_mask->ignore;
    const std::size_t keys = count(ignore.front().size());
    // One row per batch: (B, S), or (S) unbatched.
    Tensor t = spec.batched ? make_tensor("key_padding_mask", {batch, key}, {ignore.size(), keys})
                            : make_tensor("key_padding_mask", {key}, {keys});
    t.boolean = true;
    for (std::size_t b = 0; b < ignore.size(); ++b) {
      for (std::size_t j = 0; j < keys; ++j)
        t.data[b * keys + j] = ignore[b](static_cast<Index>(j));
    }
    out.push_back(std::move(t));
  }
}

}  // namespace

Trace trace_attention(const Spec& spec) {
  // S counts every key the scores have: the S_given rows of the key input and the extra keys.
  const Index S_given = spec.kv_len(), extra = spec.extra_keys();
  const Index L = spec.q_len(), S = S_given + extra, E = spec.embed_dim();
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
  const bool cross = spec.key_source != KeySource::self;
  // The names of K's and V's sources in formulas: X itself, X_kv, or X_k and X_v.
  const std::string key_src = spec.key_source == KeySource::self       ? "X"
                              : spec.key_source == KeySource::kv_input ? "X_kv"
                                                                       : "X_k";
  const std::string value_src = spec.key_source == KeySource::separate ? "X_v" : key_src;

  // 1. X: one row of E numbers per token.
  Tensor X_in = layout.per_batch("X", {query, feature}, {count(L), count(E)},
                                 [&](Index b) { return spec.inputs[count(b)]; });
  const std::string input_shapes = LxE + layout.repeat(X_in, false);
  Stage input{"input",
              "The input: one vector per token",
              fmt::format("X = one row of E = {} per token", plural(count(E), "number", "numbers")),
              input_shapes,
              {std::move(X_in)},
              ""};
  if (cross) {
    // Cross-attention: the keys and values come from rows of their own.
    const auto source = [&](std::string name, const std::vector<Matrix>& rows) {
      return layout.per_batch(std::move(name), {key, feature},
                              {count(S_given), count(rows.front().cols())},
                              [&](Index b) { return rows[count(b)]; });
    };
    input.title = "The inputs: one vector per query token and per key token";
    std::vector<std::string> formulas = {fmt::format("X = one row of E = {} per query token",
                                                     plural(count(E), "number", "numbers"))};
    std::vector<std::string> shapes = {"X: " + input_shapes};
    const auto add = [&](std::string name, const std::vector<Matrix>& rows, std::string_view what,
                         std::string_view dim) {
      Tensor t = source(name, rows);
      formulas.push_back(fmt::format("{} = one row of {} = {} per key token ({})", name, dim,
                                     plural(t.cols(), "number", "numbers"), what));
      shapes.push_back(
          fmt::format("{}: {}{}", name, dims_text({t.rows(), t.cols()}), layout.repeat(t, false)));
      input.tensors.push_back(std::move(t));
    };
    if (spec.key_source == KeySource::kv_input) {
      add("X_kv", spec.key_inputs, "the source of K and V", "E_kv");
    } else {
      add("X_k", spec.key_inputs, "the source of K", "kdim");
      add("X_v", spec.value_inputs, "the source of V", "vdim");
    }
    input.formula = fmt::format("{}", fmt::join(formulas, "; "));
    input.shapes = fmt::format("{}", fmt::join(shapes, "; "));
    input.note =
        "Cross-attention: the queries come from X, the keys and values from the other input, so "
        "the scores have one row per query token and one column per key token.";
  }
  record(std::move(input));

  // 2. Q, K, V = X·Wᵀ + b (or X itself when no weights were given): (L, D), (S, D), (S, D).
  const auto projection = [&](std::string name, Axis rows, const std::optional<Linear>& linear,
                              const std::function<const Matrix&(Index b)>& source) {
    const Index n = rows == query ? L : S_given;
    return layout.per_batch(std::move(name), {rows, feature}, {count(n), count(D)}, [&](Index b) {
      return linear ? project(source(b), *linear) : source(b);
    });
  };
  Stage projections;
  projections.id = "projections";
  projections.tensors = {
      projection("Q", query, spec.q_proj,
                 [&](Index b) -> const Matrix& { return spec.inputs[count(b)]; }),
      projection("K", key, spec.k_proj,
                 [&](Index b) -> const Matrix& { return spec.key_input(b); }),
      projection("V", key, spec.v_proj,
                 [&](Index b) -> const Matrix& { return spec.value_input(b); })};
  const std::string repeat_qkv = layout.repeat(projections.tensors[0], false);
  if (spec.learned_projections()) {
    projections.title = "Query, key and value projections";
    const auto formula = [&](std::string_view name, std::string_view in, std::string_view suffix,
                             const Linear& p) {
      return fmt::format("{} = {}", name,
                         linear_formula(spec, in, fmt::format("W_{}", suffix),
                                        fmt::format("b_{}", suffix), p.bias.has_value()));
    };
    projections.formula = fmt::format("{}   {}   {}", formula("Q", "X", "q", *spec.q_proj),
                                      formula("K", key_src, "k", *spec.k_proj),
                                      formula("V", value_src, "v", *spec.v_proj));
    const std::string q = linear_shapes(spec, L, *spec.q_proj);
    const std::string k = linear_shapes(spec, S_given, *spec.k_proj);
    const std::string v = linear_shapes(spec, S_given, *spec.v_proj);
    projections.shapes =
        (q == k && k == v ? q + " each" : fmt::format("Q: {}; K: {}; V: {}", q, k, v)) + repeat_qkv;
  } else {
    projections.title = "Query, key and value (no learned projections)";
    if (!cross) {
      projections.formula = "Q = K = V = X";
      projections.shapes = LxE + " → " + LxE + repeat_qkv;
      projections.note =
          "No Q/K/V weights were given, so Q, K and V are the input itself: the textbooks' basic "
          "self-attention.";
    } else {
      projections.formula = fmt::format("Q = X   K = {}   V = {}", key_src, value_src);
      projections.shapes =
          fmt::format("Q: {} → {}; K, V: {} → {}", LxE, LxE, dims_text({count(S_given), count(E)}),
                      dims_text({count(S_given), count(E)})) +
          repeat_qkv;
      projections.note =
          "No Q/K/V weights were given, so Q is the query input and K and V are the key and value "
          "inputs themselves.";
    }
  }
  const Stage* qkv = &record(std::move(projections));
  const Stage* kv_stage = qkv;  // where K and V are read from: here, or extra_keys

  // 2b. nn.MultiheadAttention's extra keys: [K; bias_k; 0] and [V; bias_v; 0], (S + extra, D).
  if (extra > 0) {
    const auto extend = [&](std::size_t which, const std::optional<Vector>& bias) {
      const Tensor& given = qkv->tensors[which];
      return layout.per_batch(given.name, {key, feature}, {count(S), count(D)}, [&](Index b) {
        return append_keys(given.block(count(b)), bias, spec.add_zero_attn);
      });
    };
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
    Stage extend_stage{
        "extra_keys",
        "Extra keys appended by nn.MultiheadAttention",
        fmt::format("K ← [K; {}]   V ← [V; {}]", fmt::join(rows_k, "; "), fmt::join(rows_v, "; ")),
        fmt::format("{} → {} each", dims_text({count(S_given), count(D)}),
                    dims_text({count(S), count(D)})) +
            layout.repeat(qkv->tensors[1], false),
        {},
        fmt::format("{}. Every query can attend to these keys whatever the masks block.",
                    fmt::join(why, "; "))};
    extend_stage.tensors.push_back(extend(1, spec.bias_k));
    extend_stage.tensors.push_back(extend(2, spec.bias_v));
    // Q stays in the projections stage; K and V from here on are the extended ones.
    kv_stage = &record(std::move(extend_stage));
  } else {
    skip("extra_keys", "it exists only with bias_k/bias_v (add_bias_kv) or add_zero_attn");
  }

  // 3. Head h takes columns h·d … (h+1)·d − 1 of Q, K and V: (H, L, d) each.
  const auto split = [&](const Stage* from, std::size_t which, Axis rows) {
    const Tensor& whole = from->tensors[which];
    return layout.per_head(
        whole.name, {rows, feature}, {rows == query ? count(L) : count(S), count(d)},
        [&](Index b, Index head) { return head_slice(whole.block(count(b)), head, d); });
  };
  // With one head, the projections (and extra keys) are the heads.
  const Tensor* Q_h = &qkv->tensors[0];
  const Tensor* K_h = &kv_stage->tensors[kv_stage == qkv ? 1 : 0];
  const Tensor* V_h = &kv_stage->tensors[kv_stage == qkv ? 2 : 1];
  if (multi_head) {
    Tensor Q_heads = split(qkv, 0, query);
    const std::size_t k_index = kv_stage == qkv ? 1 : 0;
    Tensor K_heads = split(kv_stage, k_index, key);
    Tensor V_heads = split(kv_stage, k_index + 1, key);
    // "(3×4) → 2 × (3×2) = (2×3×2)"
    const auto split_shapes = [&](Index rows, const Tensor& t) {
      return fmt::format("{} → {} × {}", dims_text({count(rows), count(D)}), H,
                         dims_text({count(rows), count(d)})) +
             (spec.batched ? fmt::format(", for each of {} → ",
                                         plural(count(spec.batch_size()), "batch", "batches"))
                           : std::string(" = ")) +
             dims_text(t.shape);
    };
    const std::string shapes =
        S == L ? split_shapes(L, Q_heads)
               : fmt::format("Q: {}; K, V: {}", split_shapes(L, Q_heads), split_shapes(S, K_heads));
    const Stage& heads =
        record({"split_heads",
                "Split into heads",
                fmt::format("Q_h = Q[:, h·d … (h+1)·d − 1] with d = D/H = {}/{} = {}; "
                            "likewise K_h, V_h",
                            D, H, d),
                shapes,
                {std::move(Q_heads), std::move(K_heads), std::move(V_heads)},
                ""});
    Q_h = &heads.tensors[0], K_h = &heads.tensors[1], V_h = &heads.tensors[2];
  } else {
    skip("split_heads", "it exists only with num_heads > 1");
  }

  // 4. scores = Q_h·K_hᵀ: every query against every key, (H, L, S).
  Tensor scores_t =
      layout.per_head("scores", {query, key}, {count(L), count(S)}, [&](Index b, Index head) {
        const std::size_t block = layout.head_block(b, head);
        return attention_scores(Q_h->block(block), K_h->block(block));
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

  // 5b. masked = scaled + M: blocked keys get −∞.
  const Tensor* softmax_input = &scaled;
  std::optional<std::string> blocked_rows;
  if (spec.masks.any()) {
    Stage masking{"masking", "Masking: blocked keys get −∞", "", "", {}, mask_note(spec)};
    append_given_masks(spec, masking.tensors);
    Tensor additive_t = layout.per_head(
        "additive_mask", {query, key}, {count(L), count(S)}, [&](Index b, Index head) {
          return additive_mask(spec.masks, b, head, H, L, S_given, extra);
        });
    Tensor masked_t =
        layout.per_head("masked", {query, key}, {count(L), count(S)}, [&](Index b, Index head) {
          const std::size_t block = layout.head_block(b, head);
          return mask_scores(scaled.block(block), additive_t.block(block));
        });
    const bool float_mask = spec.masks.attn_mask && !spec.masks.attn_mask->boolean;
    masking.formula =
        fmt::format("masked{0} = scaled{0} + M{0},   M{0}[i,j] = {1}", h,
                    float_mask ? "attn_mask[i,j], or −∞ where a mask blocks key j for query i"
                               : "0 where query i may attend key j, −∞ where it is blocked");
    masking.shapes = fmt::format("{} + {} → {}", LxS, LxS, LxS) + layout.repeat(masked_t, true);
    masking.tensors.push_back(std::move(additive_t));
    masking.tensors.push_back(std::move(masked_t));
    softmax_input = &record(std::move(masking)).tensors.back();
    blocked_rows = blocked_row_warning(spec, *softmax_input, multi_head ? H : 1);
  } else {
    skip("masking", "no mask was given (mask, attn_mask or key_padding_mask)");
  }
  const std::string in = softmax_input == &scaled ? "scaled" : "masked";

  // 6. weights = softmax of each row of scaled (or masked); each row sums to 1.
  Tensor weights_t =
      layout.per_head("weights", {query, key}, {count(L), count(S)}, [&](Index b, Index head) {
        return softmax_rows(softmax_input->block(layout.head_block(b, head)));
      });
  const std::string weights_shapes = LxS + " → " + LxS + layout.repeat(weights_t, true);
  const Tensor& weights =
      record({"softmax",
              "Softmax over each row",
              fmt::format("weights{0}[i,j] = exp({1}{0}[i,j] − m_i) / Σ_k exp({1}{0}[i,k] − m_i)",
                          h, in),
              weights_shapes,
              {std::move(weights_t)},
              fmt::format("m_i = max_k {}{}[i,k], the row's largest score: subtracting it "
                          "keeps exp from overflowing and does not change the result. Each row "
                          "sums to 1: how much one query attends to each key.",
                          in, h)})
          .tensors[0];
  if (blocked_rows) trace.warnings.push_back("softmax: " + *blocked_rows);

  // 7. weighted[i,j,:] = weights[i,j] · V[j,:]: one (S, d) block per query.
  //    Held when small; else each block is computed when a renderer asks for it, from copies of
  //    the weights and V_h it needs (a generated tensor must not depend on this function's state).
  const bool generated = weights.size() * count(d) > default_weighted_limit;
  std::shared_ptr<const Tensor> weights_kept, values_kept;
  if (generated) {
    weights_kept = std::make_shared<const Tensor>(weights);
    values_kept = std::make_shared<const Tensor>(*V_h);
  }
  const Tensor* weights_used = generated ? weights_kept.get() : &weights;
  const Tensor* values_used = generated ? values_kept.get() : V_h;
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
        return weighted_sum(weights.block(block), V_h->block(block));
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

  warn_non_finite(trace, blocked_rows.has_value());
  return trace;
}

}  // namespace attn_trace
