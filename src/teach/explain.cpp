// The arithmetic behind one number of a trace (explain.hpp): the cell is found (cell.hpp), then
// the function of its stage writes the formula and the terms with their actual numbers, read from
// the spec's weights and the trace's own tensors, and combines them; the result is checked against
// the number the trace holds.
#include "attn_trace/teach/explain.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "cell.hpp"

namespace attn_trace {
namespace {

// A position in the trace's coordinates: batch, head, query row, key row, feature column.
struct Coord {
  std::size_t b = 0, h = 0, i = 0, j = 0, c = 0;
};

// The coordinate that an axis counts.
std::size_t& coordinate(Coord& at, Axis axis) {
  switch (axis) {
    case Axis::batch:
      return at.b;
    case Axis::head:
      return at.h;
    case Axis::query:
      return at.i;
    case Axis::key:
      return at.j;
    case Axis::feature:
      break;
  }
  return at.c;
}

// The number `t` holds at `at`, each axis read from the coordinate it counts.
double value_at(const Tensor& t, Coord at) {
  std::vector<std::size_t> index;
  for (Axis axis : t.axes) index.push_back(coordinate(at, axis));
  return t.at(index);
}

// A number in a note: six significant digits, −∞ and nan as such.
std::string number(double v) {
  if (const auto text = non_finite_text(v)) return std::string(*text);
  return fmt::format("{:.6g}", v);
}

// Q, K or V of one head, as the trace holds it: split_heads holds each head's own columns; with
// one head, the projections (or the extra keys) hold all of them.
struct HeadTensor {
  const Tensor* tensor;
  bool split;
};

// What every stage's arithmetic reads: the spec, the trace, and where the cell stands.
class Context {
 public:
  Context(const Spec& s, const Trace& t, Coord c) : spec(s), trace(t), at(c) {}

  const Spec& spec;
  const Trace& trace;
  const Coord at;

  const Tensor& tensor(StageId stage, std::string_view name) const {
    for (const Tensor& t : trace.find_stage(stage)->tensors) {
      if (t.name == name) return t;
    }
    throw Error(fmt::format("internal: no {}.{}", stage_name(stage), name));
  }
  bool has(StageId stage) const { return trace.find_stage(stage) != nullptr; }

  // Q, K or V of one head: split_heads when there are heads; else after the extra keys.
  HeadTensor per_head(std::string_view name) const {
    if (has(StageId::split_heads)) return {&tensor(StageId::split_heads, name), true};
    if (name != "Q" && has(StageId::extra_keys)) {
      return {&tensor(StageId::extra_keys, name), false};
    }
    return {&tensor(StageId::projections, name), false};
  }
  // This head's value in `t` at (row, c): a query row, or a key row when `key_row`.
  double head_value(const HeadTensor& t, std::size_t row, std::size_t c, bool key_row) const {
    Coord where = at;
    (key_row ? where.j : where.i) = row;
    where.c = t.split ? c : at.h * head_dim() + c;
    return value_at(*t.tensor, where);
  }
  std::size_t head_dim() const { return static_cast<std::size_t>(trace.config.head_dim); }
  bool heads() const { return trace.config.num_heads > 1; }

  // "[am,good]" for query i and key j of this batch, with the head when there are heads.
  std::string qk(std::size_t i, std::size_t j) const {
    return fmt::format("[{}{},{}]", lead(), token(Axis::query, i), token(Axis::key, j));
  }
  // "b," before a row, when the trace has batches.
  std::string batch_lead() const { return trace.config.batch ? fmt::format("{},", at.b) : ""; }
  // "b,h," before a query and key: the batch and head of this cell, when the trace has them.
  std::string lead() const { return batch_lead() + (heads() ? fmt::format("{},", at.h) : ""); }
  // A token of this batch as the walkthrough's tables show it: cut to 12 columns.
  std::string token(Axis axis, std::size_t k) const {
    const auto& lists = axis == Axis::query ? trace.tokens : trace.kv_tokens;
    return excerpt(lists[std::min(at.b, lists.size() - 1)][k], 12);
  }
  // "_1" for head 1, as a subscript in a term; "h," in a formula's index.
  std::string h_sub() const { return heads() ? fmt::format("_{}", at.h) : ""; }
  std::string h_index() const { return heads() ? "h," : ""; }
};

void given(Explanation& e) {
  e.combine = Combine::given;
  e.formula = fmt::format("{}[{}] is given in the input", e.tensor, fmt::join(e.index_labels, ","));
  e.terms.push_back(
      {fmt::format("{}[{}]", e.tensor, fmt::join(e.index_labels, ",")), {e.result}, e.result});
}

// y[r,c] = Σ_e x[r,e]·W[c,e] + b[c], W as the user wrote it.
void linear(const Context& ctx, Explanation& e, const Matrix& x_row_source, Index row,
            std::string_view row_label, const Linear& linear, std::string_view y,
            std::string_view x, std::string_view w, std::string_view b, std::size_t c) {
  const bool math = ctx.spec.weight_layout == WeightLayout::math;
  const std::string w_at = math ? "e,c" : "c,e";
  e.combine = Combine::sum;
  e.formula = fmt::format("{}[i,c] = Σ_e {}[i,e]·{}[{}]{}", y, x, w, w_at,
                          linear.bias ? fmt::format(" + {}[c]", b) : "");
  for (Index k = 0; k < linear.weight.cols(); ++k) {
    const double xv = x_row_source(row, k);
    const double wv = linear.weight(static_cast<Index>(c), k);
    e.terms.push_back({fmt::format("{}[{},{}]·{}[{}]", x, row_label, k, w,
                                   math ? fmt::format("{},{}", k, c) : fmt::format("{},{}", c, k)),
                       {xv, wv},
                       xv * wv});
  }
  if (linear.bias) {
    const double bv = (*linear.bias)(static_cast<Index>(c));
    e.terms.push_back({fmt::format("{}[{}]", b, c), {bv}, bv});
  }
}

void projection(const Context& ctx, Explanation& e) {
  const std::string& name = e.tensor;
  const bool key_row = name != "Q";
  const std::size_t row = key_row ? ctx.at.j : ctx.at.i;
  const std::string source(source_name(ctx.spec.key_source, name[0]));
  const Matrix& x = name == "Q"   ? ctx.spec.inputs[ctx.at.b]
                    : name == "K" ? ctx.spec.key_input(static_cast<Index>(ctx.at.b))
                                  : ctx.spec.value_input(static_cast<Index>(ctx.at.b));
  if (!ctx.spec.learned_projections()) {
    e.combine = Combine::copy;
    e.formula = fmt::format("{}[i,c] = {}[i,c] (no weights: Q = K = V = X)", name, source);
    const double v = x(static_cast<Index>(row), static_cast<Index>(ctx.at.c));
    e.terms.push_back({fmt::format("{}[{},{}]", source,
                                   ctx.token(key_row ? Axis::key : Axis::query, row), ctx.at.c),
                       {v},
                       v});
    return;
  }
  const char letter = static_cast<char>(std::tolower(name[0]));
  const Linear& l = name == "Q"   ? *ctx.spec.q_proj
                    : name == "K" ? *ctx.spec.k_proj
                                  : *ctx.spec.v_proj;
  linear(ctx, e, x, static_cast<Index>(row),
         ctx.batch_lead() + ctx.token(key_row ? Axis::key : Axis::query, row), l, name, source,
         fmt::format("W_{}", letter), fmt::format("b_{}", letter), ctx.at.c);
}

void extra_key(const Context& ctx, Explanation& e) {
  e.combine = Combine::copy;
  const std::size_t given = static_cast<std::size_t>(ctx.spec.kv_len());
  const std::string& name = e.tensor;
  if (ctx.at.j < given) {
    e.formula = fmt::format("{}'[j,c] = {}[j,c] for the {} given keys", name, name, given);
    const double v = value_at(ctx.tensor(StageId::projections, name), ctx.at);
    e.terms.push_back({fmt::format("projections.{}[{}{},{}]", name, ctx.batch_lead(),
                                   ctx.token(Axis::key, ctx.at.j), ctx.at.c),
                       {v},
                       v});
  } else if (ctx.at.j == given && ctx.spec.bias_k) {
    const Vector& bias = name == "K" ? *ctx.spec.bias_k : *ctx.spec.bias_v;
    e.formula = fmt::format("{}'[{},c] = bias_{}[c], the learned row add_bias_kv appends", name,
                            given, name == "K" ? "k" : "v");
    const double v = bias(static_cast<Index>(ctx.at.c));
    e.terms.push_back({fmt::format("bias_{}[{}]", name == "K" ? "k" : "v", ctx.at.c), {v}, v});
  } else {
    e.combine = Combine::given;
    e.formula = fmt::format("{}'[j,c] = 0 for the row of zeros add_zero_attn appends", name);
    e.terms.push_back({"0", {0.0}, 0.0});
  }
}

void split(const Context& ctx, Explanation& e) {
  e.combine = Combine::copy;
  const std::string& name = e.tensor;
  const bool key_row = name != "Q";
  const std::size_t d = ctx.head_dim(), column = ctx.at.h * d + ctx.at.c;
  const StageId from =
      key_row && ctx.has(StageId::extra_keys) ? StageId::extra_keys : StageId::projections;
  e.formula = fmt::format("{}_h[i,c] = {}[i, h·d + c], d = {}", name, name, d);
  e.notes.push_back(fmt::format("head {} takes columns {} to {} of {}: its column {} is column {}",
                                ctx.at.h, ctx.at.h * d, ctx.at.h * d + d - 1, name, ctx.at.c,
                                column));
  Coord at = ctx.at;
  at.c = column;
  const double v = value_at(ctx.tensor(from, name), at);
  e.terms.push_back(
      {fmt::format("{}.{}[{}{},{}]", stage_name(from), name, ctx.batch_lead(),
                   ctx.token(key_row ? Axis::key : Axis::query, key_row ? ctx.at.j : ctx.at.i),
                   column),
       {v},
       v});
}

void score(const Context& ctx, Explanation& e) {
  e.combine = Combine::sum;
  const auto q = ctx.per_head("Q"), k = ctx.per_head("K");
  e.formula = fmt::format("scores[{}i,j] = Σ_c Q{}[i,c]·K{}[j,c], c < d = {}", ctx.h_index(),
                          ctx.heads() ? "_h" : "", ctx.heads() ? "_h" : "", ctx.head_dim());
  for (std::size_t c = 0; c < ctx.head_dim(); ++c) {
    const double qv = ctx.head_value(q, ctx.at.i, c, false),
                 kv = ctx.head_value(k, ctx.at.j, c, true);
    e.terms.push_back(
        {fmt::format("Q{}[{},{}]·K{}[{},{}]", ctx.h_sub(), ctx.token(Axis::query, ctx.at.i), c,
                     ctx.h_sub(), ctx.token(Axis::key, ctx.at.j), c),
         {qv, kv},
         qv * kv});
  }
}

void scaled(const Context& ctx, Explanation& e) {
  e.combine = Combine::product;
  const TraceConfig& config = ctx.trace.config;
  const double scale = config.scale;
  // The rule, then its value here: "1/√d" and "1/√2" with d = 2.
  const bool custom = config.scale_rule == ScaleRule::custom;
  const std::string rule =
      custom ? "the given scale" : std::string(scale_rule_symbol(config.scale_rule));
  const std::string value =
      custom ? rule : scale_rule_value(config.scale_rule, config.head_dim, config.embed_dim);
  e.formula = fmt::format("scaled[{}i,j] = scores[{}i,j] × {}", ctx.h_index(), ctx.h_index(), rule);
  if (rule != value) {
    const bool by_d = config.scale_rule == ScaleRule::head_dim;
    e.notes.push_back(fmt::format("{} = {} = {} here ({} = {})", rule, value, number(scale),
                                  by_d ? "d" : "E", by_d ? config.head_dim : config.embed_dim));
  }
  const double s = value_at(ctx.tensor(StageId::scores, "scores"), ctx.at);
  e.terms.push_back({fmt::format("scores{}", ctx.qk(ctx.at.i, ctx.at.j)), {s}, s});
  e.terms.push_back({value, {scale}, scale});
}

std::vector<std::pair<std::string, double>> mask_parts(const Context& ctx) {
  std::vector<std::pair<std::string, double>> parts;
  const Masks& all = ctx.spec.masks;
  const auto part = [&](const char* name, Masks only) {
    const Matrix m = additive_mask(only, static_cast<Index>(ctx.at.b), static_cast<Index>(ctx.at.h),
                                   ctx.spec.num_heads, ctx.spec.q_len(), ctx.spec.kv_len(),
                                   ctx.spec.extra_keys());
    parts.emplace_back(name, m(static_cast<Index>(ctx.at.i), static_cast<Index>(ctx.at.j)));
  };
  if (all.attn_mask) part("attn_mask", Masks{std::nullopt, all.attn_mask, std::nullopt});
  if (all.mask) part("mask", Masks{all.mask, std::nullopt, std::nullopt});
  if (all.key_padding_mask) {
    part("key_padding_mask", Masks{std::nullopt, std::nullopt, all.key_padding_mask});
  }
  return parts;
}

// Which masks block this key for this query (the one rule: an additive part of −1e9 or less), and
// what that does to it.
void mask_notes(const Context& ctx, Explanation& e) {
  std::vector<std::string> blocked;
  double total = 0;
  for (const auto& [name, value] : mask_parts(ctx)) {
    total += value;
    if (blocks_key(value)) blocked.push_back(name);
  }
  if (ctx.at.j >= static_cast<std::size_t>(ctx.spec.kv_len())) {
    e.notes.push_back("an extra key (bias_kv or zero_attn): no mask covers it, + 0");
  } else if (blocked.empty()) {
    e.notes.push_back("no mask blocks this key for this query");
  } else if (std::isinf(total)) {
    e.notes.push_back(
        fmt::format("blocked by {}: −∞, and exp(−∞) = 0 gives this key no weight "
                    "(were every key of the row blocked, its weights would be nan)",
                    fmt::join(blocked, " and ")));
  } else {
    // Tutorials write −1e9 for −∞ (masked_fill(mask == 0, -1e9)).
    e.notes.push_back(
        fmt::format("blocked by {}: {} counts as −∞ (−1e9 or less, as tutorials write it): "
                    "exp of it is 0 beside any key that is not blocked, so this key gets no "
                    "weight",
                    fmt::join(blocked, " and "), number(total)));
  }
}

void masked(const Context& ctx, Explanation& e) {
  e.combine = Combine::sum;
  e.formula = fmt::format("masked[{}i,j] = scaled[{}i,j] + additive_mask[{}i,j]", ctx.h_index(),
                          ctx.h_index(), ctx.h_index());
  const double s = value_at(ctx.tensor(StageId::scaling, "scaled"), ctx.at);
  const double m = value_at(ctx.tensor(StageId::masking, "additive_mask"), ctx.at);
  e.terms.push_back({fmt::format("scaled{}", ctx.qk(ctx.at.i, ctx.at.j)), {s}, s});
  e.terms.push_back({fmt::format("additive_mask{}", ctx.qk(ctx.at.i, ctx.at.j)), {m}, m});
  mask_notes(ctx, e);
}

// Each mask's own part of the additive mask at this cell.
void additive(const Context& ctx, Explanation& e) {
  e.combine = Combine::sum;
  e.formula = fmt::format("additive_mask[{}i,j] = Σ over the masks given of each one's part",
                          ctx.h_index());
  e.notes.push_back("a part is 0 (may attend), −∞ (blocked), or a float attn_mask's own number");
  for (const auto& [name, value] : mask_parts(ctx)) {
    e.terms.push_back({fmt::format("{}'s part", name), {value}, value});
  }
  mask_notes(ctx, e);
}

void softmax(const Context& ctx, Explanation& e) {
  e.combine = Combine::ratio;
  const std::string in = ctx.has(StageId::masking) ? "masked" : "scaled";
  const Tensor& s = ctx.tensor(ctx.has(StageId::masking) ? StageId::masking : StageId::scaling, in);
  const std::size_t keys = static_cast<std::size_t>(ctx.trace.config.kv_len);
  std::vector<double> row(keys);
  for (std::size_t k = 0; k < keys; ++k) {
    Coord at = ctx.at;
    at.j = k;
    row[k] = value_at(s, at);
  }
  const double m = *std::max_element(row.begin(), row.end());
  e.formula = fmt::format("weights[{0}i,j] = exp({1}[{0}i,j] − m_i) / Σ_k exp({1}[{0}i,k] − m_i)",
                          ctx.h_index(), in);
  if (std::isinf(m) && m < 0) {
    e.notes.push_back(
        fmt::format("every key of this row is blocked: every {} is −∞, so is their "
                    "largest, m_i, and each s − m_i is −∞ − (−∞), which is nan; "
                    "the weights are nan, as in PyTorch",
                    in));
  } else {
    e.notes.push_back(
        fmt::format("m_i = {}, the largest {} of this row: subtracting it keeps "
                    "exp from overflowing and changes no weight",
                    number(m), in));
  }
  // Each term's factor is its exponent, s_ik − m_i; its value, exp of that.
  for (std::size_t k = 0; k < keys; ++k) {
    const double exponent = row[k] - m;
    e.terms.push_back(
        {fmt::format("exp({}{} − m)", in, ctx.qk(ctx.at.i, k)), {exponent}, std::exp(exponent)});
  }
  e.numerator = ctx.at.j;
}

void weighted(const Context& ctx, Explanation& e) {
  e.combine = Combine::product;
  const auto v = ctx.per_head("V");
  e.formula = fmt::format("weighted[{}i,j,c] = weights[{}i,j] × V{}[j,c]", ctx.h_index(),
                          ctx.h_index(), ctx.heads() ? "_h" : "");
  const double w = value_at(ctx.tensor(StageId::softmax, "weights"), ctx.at);
  const double vv = ctx.head_value(v, ctx.at.j, ctx.at.c, true);
  e.terms.push_back({fmt::format("weights{}", ctx.qk(ctx.at.i, ctx.at.j)), {w}, w});
  e.terms.push_back(
      {fmt::format("V{}[{},{}]", ctx.h_sub(), ctx.token(Axis::key, ctx.at.j), ctx.at.c), {vv}, vv});
}

void context(const Context& ctx, Explanation& e) {
  e.combine = Combine::sum;
  const auto v = ctx.per_head("V");
  e.formula = fmt::format("context[{}i,c] = Σ_j weights[{}i,j]·V{}[j,c]", ctx.h_index(),
                          ctx.h_index(), ctx.heads() ? "_h" : "");
  const Tensor& weights = ctx.tensor(StageId::softmax, "weights");
  for (std::size_t j = 0; j < static_cast<std::size_t>(ctx.trace.config.kv_len); ++j) {
    Coord at = ctx.at;
    at.j = j;
    const double w = value_at(weights, at), vv = ctx.head_value(v, j, ctx.at.c, true);
    e.terms.push_back({fmt::format("weights{}·V{}[{},{}]", ctx.qk(ctx.at.i, j), ctx.h_sub(),
                                   ctx.token(Axis::key, j), ctx.at.c),
                       {w, vv},
                       w * vv});
  }
}

void merge(const Context& ctx, Explanation& e) {
  e.combine = Combine::copy;
  const std::size_t d = ctx.head_dim(), head = ctx.at.c / d, column = ctx.at.c % d;
  e.formula = fmt::format("context[i,c] = context_h[i, c − h·d] with h = c / d, d = {}", d);
  e.notes.push_back(
      fmt::format("column {} comes from head {}, its column {} (head {} fills "
                  "columns {} to {})",
                  ctx.at.c, head, column, head, head * d, head * d + d - 1));
  Coord at = ctx.at;
  at.h = head;
  at.c = column;
  const double v = value_at(ctx.tensor(StageId::summation, "context"), at);
  e.terms.push_back({fmt::format("summation.context[{}{},{},{}]", ctx.batch_lead(), head,
                                 ctx.token(Axis::query, ctx.at.i), column),
                     {v},
                     v});
}

void output(const Context& ctx, Explanation& e) {
  const Tensor& merged = ctx.has(StageId::merge_heads) ? ctx.tensor(StageId::merge_heads, "context")
                                                       : ctx.tensor(StageId::summation, "context");
  Matrix row(1, static_cast<Index>(ctx.trace.config.model_dim));
  for (Index k = 0; k < row.cols(); ++k) {
    Coord at = ctx.at;
    at.c = static_cast<std::size_t>(k);
    row(0, k) = value_at(merged, at);
  }
  linear(ctx, e, row, 0, ctx.batch_lead() + ctx.token(Axis::query, ctx.at.i), *ctx.spec.out_proj,
         "output", "context", "W_o", "b_o", ctx.at.c);
}

double combine(const Explanation& e) {
  double total = e.combine == Combine::product ? 1.0 : 0.0;
  for (const Term& t : e.terms) {
    total = e.combine == Combine::product ? total * t.value : total + t.value;
  }
  switch (e.combine) {
    case Combine::given:
    case Combine::copy:
      return e.terms.front().value;
    case Combine::sum:
    case Combine::product:
      return total;
    case Combine::ratio:
      return e.terms[e.numerator].value / total;
  }
  return total;
}

// The arithmetic of the cell's stage.
void describe(const Context& ctx, Explanation& e) {
  switch (e.stage) {
    case StageId::input:
      return given(e);
    case StageId::projections:
      return projection(ctx, e);
    case StageId::extra_keys:
      return extra_key(ctx, e);
    case StageId::split_heads:
      return split(ctx, e);
    case StageId::scores:
      return score(ctx, e);
    case StageId::scaling:
      return scaled(ctx, e);
    case StageId::masking:
      // The masks as given are numbers of the input; the additive mask and masked are computed.
      if (e.tensor == "masked") return masked(ctx, e);
      return e.tensor == "additive_mask" ? additive(ctx, e) : given(e);
    case StageId::softmax:
      return softmax(ctx, e);
    case StageId::weighted_values:
      return weighted(ctx, e);
    case StageId::summation:
      return context(ctx, e);
    case StageId::merge_heads:
      return merge(ctx, e);
    case StageId::out_proj:
      return output(ctx, e);
  }
}

}  // namespace

Explanation explain(const Spec& spec, const Trace& trace, const CellRef& ref) {
  const Cell cell = locate(trace, ref);
  Explanation e;
  e.stage = cell.stage->id;
  e.tensor = cell.tensor->name;
  e.index = cell.index;
  e.index_labels = cell.labels;
  Coord at;
  for (std::size_t a = 0; a < cell.tensor->rank(); ++a) {
    coordinate(at, cell.tensor->axes[a]) = cell.index[a];
  }
  e.result = cell.tensor->at(e.index);
  describe(Context(spec, trace, at), e);
  e.computed = combine(e);
  return e;
}

}  // namespace attn_trace
