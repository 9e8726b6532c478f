#include "attn_trace/teach/explain.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text_width.hpp"

namespace attn_trace {
namespace {

// A position in the trace's coordinates: batch, head, query row, key row, feature column.
struct Coord {
  std::size_t b = 0, h = 0, i = 0, j = 0, c = 0;
};

std::string cut(std::string_view text) {
  return truncate_to_width(printable(text), 40);
}

// The number `t` holds at `index` (one per axis), stored or generated.
double value_at(const Tensor& t, const std::vector<std::size_t>& index) {
  std::size_t flat = 0;
  for (std::size_t a = 0; a < t.rank(); ++a) flat = flat * t.shape[a] + index[a];
  if (!t.generated()) return t.data[flat];
  const std::size_t per_block = t.rows() * t.cols();
  const Matrix block = t.block_values(flat / per_block);
  const std::size_t in_block = flat % per_block;
  return block(static_cast<Index>(in_block / t.cols()), static_cast<Index>(in_block % t.cols()));
}

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
  return value_at(t, index);
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "−∞" : "∞";
  return fmt::format("{:.6g}", v);
}

class Explainer {
 public:
  Explainer(const Spec& spec, const Trace& trace) : spec_(spec), trace_(trace) {}

  Explanation run(const CellRef& cell) {
    const auto [stage, tensor] = find(cell);
    Explanation e;
    e.stage = stage->id;
    e.tensor = tensor->name;
    read_index(cell, *stage, *tensor, e);
    at_ = Coord{};
    for (std::size_t a = 0; a < tensor->rank(); ++a) coordinate(at_, tensor->axes[a]) = e.index[a];
    e.result = value_at(*tensor, e.index);
    describe(e);
    e.computed = combine(e);
    return e;
  }

 private:
  // --- finding the cell --------------------------------------------------------------------

  std::pair<const Stage*, const Tensor*> find(const CellRef& cell) const {
    std::vector<std::pair<const Stage*, const Tensor*>> found;
    std::vector<std::string_view> names;
    for (const Stage& stage : trace_.stages) {
      for (const Tensor& t : stage.tensors) {
        if (std::find(names.begin(), names.end(), t.name) == names.end()) names.push_back(t.name);
        if (t.name == cell.tensor && (cell.stage.empty() || cell.stage == stage_name(stage.id))) {
          found.emplace_back(&stage, &t);
        }
      }
    }
    if (found.empty()) {
      const std::optional<StageId> named = stage_named(cell.stage);
      if (!cell.stage.empty() && !(named && trace_.find_stage(*named))) {
        std::vector<std::string_view> ids;
        for (const Stage& s : trace_.stages) ids.emplace_back(stage_name(s.id));
        const auto near = nearest(cell.stage, ids);
        throw Error(fmt::format(
            "unknown stage '{}'{}; the stages of this trace: {}", cut(cell.stage),
            near ? fmt::format(" (did you mean '{}'?)", *near) : "", fmt::join(ids, ", ")));
      }
      std::vector<std::string_view> here = names;
      if (!cell.stage.empty()) {
        here.clear();
        for (const Tensor& t : trace_.find_stage(*named)->tensors) here.emplace_back(t.name);
      }
      const auto near = nearest(cell.tensor, here);
      throw Error(fmt::format(
          "unknown tensor '{}'{}{}; {}: {}", cut(cell.tensor),
          cell.stage.empty() ? "" : " in stage " + cell.stage,
          near ? fmt::format(" (did you mean '{}'?)", *near) : "",
          cell.stage.empty() ? "the tensors of this trace" : "the tensors of " + cell.stage,
          fmt::join(here, ", ")));
    }
    if (found.size() > 1) {
      // The number of indices tells Q (L, D) of projections from Q (H, L, d) of split_heads.
      std::vector<std::pair<const Stage*, const Tensor*>> fitting;
      for (const auto& f : found) {
        if (f.second->rank() == cell.index.size()) fitting.push_back(f);
      }
      if (fitting.size() == 1) return fitting.front();
      std::vector<std::string> choices;
      for (const auto& [stage, t] : found) {
        choices.push_back(fmt::format("{}.{}{}", stage_name(stage->id), t->name, shape_text(*t)));
      }
      throw Error(fmt::format("'{}' is in {} stages: {}; name the stage, as in {}.{}[…]",
                              cut(cell.tensor), found.size(), fmt::join(choices, ", "),
                              stage_name(found.front().first->id), cell.tensor));
    }
    return found.front();
  }

  std::string shape_text(const Tensor& t) const {
    std::vector<std::string> parts;
    for (std::size_t a = 0; a < t.rank(); ++a) {
      parts.push_back(fmt::format("{} {}", axis_name(t.axes[a]), t.shape[a]));
    }
    return fmt::format(" ({})", fmt::join(parts, " × "));
  }

  // Token labels of an axis for batch b, or none for an axis of numbers.
  const std::vector<std::string>* labels(Axis axis, std::size_t b) const {
    if (axis != Axis::query && axis != Axis::key) return nullptr;
    const auto& lists = axis == Axis::query ? trace_.tokens : trace_.kv_tokens;
    return &lists[std::min(b, lists.size() - 1)];
  }

  void read_index(const CellRef& cell, const Stage& stage, const Tensor& t, Explanation& e) const {
    const std::string where = fmt::format("{}.{}", stage_name(stage.id), t.name);
    if (cell.index.size() != t.rank()) {
      throw Error(fmt::format("{} has {} ind{}{}, found {}", where, t.rank(),
                              t.rank() == 1 ? "ex" : "ices", shape_text(t), cell.index.size()),
                  fmt::format("for example {}[{}]", where, example_index(t)));
    }
    e.index.assign(t.rank(), 0);
    e.index_labels.assign(t.rank(), "");
    // The batch axis first: it decides which token list names the others.
    std::vector<std::size_t> order(t.rank());
    for (std::size_t a = 0; a < t.rank(); ++a) order[a] = a;
    std::stable_partition(order.begin(), order.end(),
                          [&](std::size_t a) { return t.axes[a] == Axis::batch; });
    std::size_t batch = 0;
    for (std::size_t a : order) {
      const std::string& typed = cell.index[a];
      const Axis axis = t.axes[a];
      const std::vector<std::string>* names = labels(axis, batch);
      std::size_t v = 0;
      const auto [end, error] = std::from_chars(typed.data(), typed.data() + typed.size(), v);
      const bool numeric = error == std::errc() && end == typed.data() + typed.size();
      // "-1" or a number beyond size_t: a position, if one out of range, not a token's name.
      const bool looks_numeric =
          typed.find_first_not_of("0123456789", typed.starts_with('-') ? 1 : 0) ==
              std::string::npos &&
          typed.size() > (typed.starts_with('-') ? 1u : 0u);
      const bool is_token = names && std::find(names->begin(), names->end(), typed) != names->end();
      if (!numeric && looks_numeric && !is_token) {
        throw Error(fmt::format("{}: index {} of the {} axis is out of range: {}", where,
                                cut(typed), axis_name(axis), range_text(t.shape[a], names)));
      }
      if (numeric) {
        if (v >= t.shape[a]) {
          throw Error(fmt::format("{}: index {} of the {} axis is out of range: {}", where, v,
                                  axis_name(axis), range_text(t.shape[a], names)));
        }
      } else {
        if (!names) {
          throw Error(fmt::format("{}: the {} axis takes a number, found '{}': {}", where,
                                  axis_name(axis), cut(typed), range_text(t.shape[a], nullptr)));
        }
        std::vector<std::size_t> at;
        for (std::size_t k = 0; k < names->size(); ++k) {
          if ((*names)[k] == typed) at.push_back(k);
        }
        if (at.empty()) {
          std::vector<std::string_view> views(names->begin(), names->end());
          const auto near = nearest(typed, views);
          throw Error(fmt::format("{}: no {} token '{}'{}: {}", where, axis_name(axis), cut(typed),
                                  near ? fmt::format(" (did you mean '{}'?)", *near) : "",
                                  range_text(t.shape[a], names)));
        }
        if (at.size() > 1) {
          throw Error(fmt::format("{}: the {} token '{}' stands at {}: give its position", where,
                                  axis_name(axis), cut(typed), fmt::join(at, " and ")));
        }
        v = at.front();
      }
      e.index[a] = v;
      e.index_labels[a] = names ? (*names)[v] : std::to_string(v);
      if (axis == Axis::batch) batch = v;
    }
  }

  static std::string example_index(const Tensor& t) {
    std::vector<std::string> zeros(t.rank(), "0");
    return fmt::format("{}", fmt::join(zeros, ","));
  }

  static std::string range_text(std::size_t size, const std::vector<std::string>* names) {
    std::string text = fmt::format("valid are 0 to {}", size - 1);
    if (names && size <= 12) {
      std::vector<std::string> shown;
      for (const std::string& n : *names) shown.push_back(cut(n));
      text += fmt::format(" ({})", fmt::join(shown, ", "));
    }
    return text;
  }

  // --- the stages --------------------------------------------------------------------------

  const Tensor& tensor(StageId stage, std::string_view name) const {
    for (const Tensor& t : trace_.find_stage(stage)->tensors) {
      if (t.name == name) return t;
    }
    throw Error(fmt::format("internal: no {}.{}", stage_name(stage), name));
  }
  bool has(StageId stage) const { return trace_.find_stage(stage) != nullptr; }

  // Q, K or V of one head: split_heads when there are heads; else after the extra keys.
  std::pair<const Tensor*, bool> per_head(std::string_view name) const {
    if (has(StageId::split_heads)) return {&tensor(StageId::split_heads, name), true};
    if (name != "Q" && has(StageId::extra_keys)) return {&tensor(StageId::extra_keys, name), false};
    return {&tensor(StageId::projections, name), false};
  }
  // A head's value in `t` at (row, c): split_heads stores the head's columns, others all of them.
  double head_value(const std::pair<const Tensor*, bool>& t, std::size_t row, std::size_t c,
                    bool key_row) const {
    Coord at = at_;
    (key_row ? at.j : at.i) = row;
    at.c = t.second ? c : at_.h * head_dim() + c;
    return value_at(*t.first, at);
  }
  std::size_t head_dim() const { return static_cast<std::size_t>(trace_.config.head_dim); }
  bool heads() const { return trace_.config.num_heads > 1; }

  // "[am,good]" for query i and key j of this batch, with the head when there are heads.
  std::string qk(std::size_t i, std::size_t j) const {
    return fmt::format("[{}{},{}]", lead(), token(Axis::query, i), token(Axis::key, j));
  }
  std::string batch_lead() const { return trace_.config.batch ? fmt::format("{},", at_.b) : ""; }
  // "b,h," before a query and key: the batch and head of this cell, when the trace has them.
  std::string lead() const {
    std::string out;
    if (trace_.config.batch) out += fmt::format("{},", at_.b);
    if (heads()) out += fmt::format("{},", at_.h);
    return out;
  }
  // A token as the walkthrough's tables show it: cut to 12 columns.
  std::string token(Axis axis, std::size_t k) const {
    return truncate_to_width(printable((*labels(axis, at_.b))[k]), 12);
  }
  std::string h_sub() const { return heads() ? fmt::format("_{}", at_.h) : ""; }
  std::string h_index() const { return heads() ? "h," : ""; }

  void describe(Explanation& e) {
    switch (e.stage) {
      case StageId::input:
        return given(e);
      case StageId::projections:
        return projection(e);
      case StageId::extra_keys:
        return extra_key(e);
      case StageId::split_heads:
        return split(e);
      case StageId::scores:
        return score(e);
      case StageId::scaling:
        return scaled(e);
      case StageId::masking:
        // The masks as given are numbers of the input; the additive mask and masked are computed.
        if (e.tensor == "masked") return masked(e);
        return e.tensor == "additive_mask" ? additive(e) : given(e);
      case StageId::softmax:
        return softmax(e);
      case StageId::weighted_values:
        return weighted(e);
      case StageId::summation:
        return context(e);
      case StageId::merge_heads:
        return merge(e);
      case StageId::out_proj:
        return output(e);
    }
  }

  void given(Explanation& e) const {
    e.combine = Combine::given;
    e.formula =
        fmt::format("{}[{}] is given in the input", e.tensor, fmt::join(e.index_labels, ","));
    e.terms.push_back(
        {fmt::format("{}[{}]", e.tensor, fmt::join(e.index_labels, ",")), {e.result}, e.result});
  }

  // y[r,c] = Σ_e x[r,e]·W[c,e] + b[c], W as the user wrote it.
  void linear(Explanation& e, const Matrix& x_row_source, Index row, std::string_view row_label,
              const Linear& linear, std::string_view y, std::string_view x, std::string_view w,
              std::string_view b, std::size_t c) const {
    const bool math = spec_.weight_layout == WeightLayout::math;
    const std::string w_at = math ? "e,c" : "c,e";
    e.combine = Combine::sum;
    e.formula = fmt::format("{}[i,c] = Σ_e {}[i,e]·{}[{}]{}", y, x, w, w_at,
                            linear.bias ? fmt::format(" + {}[c]", b) : "");
    for (Index k = 0; k < linear.weight.cols(); ++k) {
      const double xv = x_row_source(row, k);
      const double wv = linear.weight(static_cast<Index>(c), k);
      e.terms.push_back(
          {fmt::format("{}[{},{}]·{}[{}]", x, row_label, k, w,
                       math ? fmt::format("{},{}", k, c) : fmt::format("{},{}", c, k)),
           {xv, wv},
           xv * wv});
    }
    if (linear.bias) {
      const double bv = (*linear.bias)(static_cast<Index>(c));
      e.terms.push_back({fmt::format("{}[{}]", b, c), {bv}, bv});
    }
  }

  void projection(Explanation& e) const {
    const std::string& name = e.tensor;
    const bool key_row = name != "Q";
    const std::size_t row = key_row ? at_.j : at_.i;
    const std::string source = name == "Q"                               ? "X"
                               : spec_.key_source == KeySource::self     ? "X"
                               : spec_.key_source == KeySource::kv_input ? "X_kv"
                               : name == "K"                             ? "X_k"
                                                                         : "X_v";
    const Matrix& x = name == "Q"   ? spec_.inputs[at_.b]
                      : name == "K" ? spec_.key_input(static_cast<Index>(at_.b))
                                    : spec_.value_input(static_cast<Index>(at_.b));
    if (!spec_.learned_projections()) {
      e.combine = Combine::copy;
      e.formula = fmt::format("{}[i,c] = {}[i,c] (no weights: Q = K = V = X)", name, source);
      const double v = x(static_cast<Index>(row), static_cast<Index>(at_.c));
      e.terms.push_back(
          {fmt::format("{}[{},{}]", source, token(key_row ? Axis::key : Axis::query, row), at_.c),
           {v},
           v});
      return;
    }
    const char letter = static_cast<char>(std::tolower(name[0]));
    const Linear& l = name == "Q" ? *spec_.q_proj : name == "K" ? *spec_.k_proj : *spec_.v_proj;
    linear(e, x, static_cast<Index>(row),
           batch_lead() + token(key_row ? Axis::key : Axis::query, row), l, name, source,
           fmt::format("W_{}", letter), fmt::format("b_{}", letter), at_.c);
  }

  void extra_key(Explanation& e) const {
    e.combine = Combine::copy;
    const std::size_t given = static_cast<std::size_t>(spec_.kv_len());
    const std::string& name = e.tensor;
    if (at_.j < given) {
      e.formula = fmt::format("{}'[j,c] = {}[j,c] for the {} given keys", name, name, given);
      const double v = value_at(tensor(StageId::projections, name), at_);
      e.terms.push_back({fmt::format("projections.{}[{}{},{}]", name, batch_lead(),
                                     token(Axis::key, at_.j), at_.c),
                         {v},
                         v});
    } else if (at_.j == given && spec_.bias_k) {
      const Vector& bias = name == "K" ? *spec_.bias_k : *spec_.bias_v;
      e.formula = fmt::format("{}'[{},c] = bias_{}[c], the learned row add_bias_kv appends", name,
                              given, name == "K" ? "k" : "v");
      const double v = bias(static_cast<Index>(at_.c));
      e.terms.push_back({fmt::format("bias_{}[{}]", name == "K" ? "k" : "v", at_.c), {v}, v});
    } else {
      e.combine = Combine::given;
      e.formula = fmt::format("{}'[j,c] = 0 for the row of zeros add_zero_attn appends", name);
      e.terms.push_back({"0", {0.0}, 0.0});
    }
  }

  void split(Explanation& e) const {
    e.combine = Combine::copy;
    const std::string& name = e.tensor;
    const bool key_row = name != "Q";
    const std::size_t d = head_dim(), column = at_.h * d + at_.c;
    const StageId from =
        key_row && has(StageId::extra_keys) ? StageId::extra_keys : StageId::projections;
    e.formula = fmt::format("{}_h[i,c] = {}[i, h·d + c], d = {}", name, name, d);
    e.notes.push_back(
        fmt::format("head {} takes columns {} to {} of {}: its column {} is column {}", at_.h,
                    at_.h * d, at_.h * d + d - 1, name, at_.c, column));
    Coord at = at_;
    at.c = column;
    const double v = value_at(tensor(from, name), at);
    e.terms.push_back(
        {fmt::format("{}.{}[{}{},{}]", stage_name(from), name, batch_lead(),
                     token(key_row ? Axis::key : Axis::query, key_row ? at_.j : at_.i), column),
         {v},
         v});
  }

  void score(Explanation& e) const {
    e.combine = Combine::sum;
    const auto q = per_head("Q"), k = per_head("K");
    e.formula = fmt::format("scores[{}i,j] = Σ_c Q{}[i,c]·K{}[j,c], c < d = {}", h_index(),
                            heads() ? "_h" : "", heads() ? "_h" : "", head_dim());
    for (std::size_t c = 0; c < head_dim(); ++c) {
      const double qv = head_value(q, at_.i, c, false), kv = head_value(k, at_.j, c, true);
      e.terms.push_back({fmt::format("Q{}[{},{}]·K{}[{},{}]", h_sub(), token(Axis::query, at_.i), c,
                                     h_sub(), token(Axis::key, at_.j), c),
                         {qv, kv},
                         qv * kv});
    }
  }

  void scaled(Explanation& e) const {
    e.combine = Combine::product;
    const TraceConfig& config = trace_.config;
    const double scale = config.scale;
    // The rule, then its value here: "1/√d" and "1/√2" with d = 2.
    std::string rule, value;
    switch (config.scale_rule) {
      case ScaleRule::head_dim:
        rule = "1/√d";
        value = fmt::format("1/√{}", config.head_dim);
        break;
      case ScaleRule::embed_dim:
        rule = "1/√E";
        value = fmt::format("1/√{}", config.embed_dim);
        break;
      case ScaleRule::none:
        rule = value = "1";
        break;
      case ScaleRule::custom:
        rule = value = "the given scale";
        break;
    }
    e.formula = fmt::format("scaled[{}i,j] = scores[{}i,j] × {}", h_index(), h_index(), rule);
    if (rule != value) {
      e.notes.push_back(fmt::format("{} = {} = {} here ({} = {})", rule, value, number(scale),
                                    rule == "1/√d" ? "d" : "E",
                                    rule == "1/√d" ? config.head_dim : config.embed_dim));
    }
    const double s = value_at(tensor(StageId::scores, "scores"), at_);
    e.terms.push_back({fmt::format("scores{}", qk(at_.i, at_.j)), {s}, s});
    e.terms.push_back({value, {scale}, scale});
  }

  void masked(Explanation& e) const {
    e.combine = Combine::sum;
    e.formula = fmt::format("masked[{}i,j] = scaled[{}i,j] + additive_mask[{}i,j]", h_index(),
                            h_index(), h_index());
    const double s = value_at(tensor(StageId::scaling, "scaled"), at_);
    const double m = value_at(tensor(StageId::masking, "additive_mask"), at_);
    e.terms.push_back({fmt::format("scaled{}", qk(at_.i, at_.j)), {s}, s});
    e.terms.push_back({fmt::format("additive_mask{}", qk(at_.i, at_.j)), {m}, m});
    mask_notes(e);
  }

  // Each mask's own part of the additive mask at this cell.
  std::vector<std::pair<std::string, double>> mask_parts() const {
    std::vector<std::pair<std::string, double>> parts;
    const Masks& all = spec_.masks;
    const auto part = [&](const char* name, Masks only) {
      const Matrix m =
          additive_mask(only, static_cast<Index>(at_.b), static_cast<Index>(at_.h), spec_.num_heads,
                        spec_.q_len(), spec_.kv_len(), spec_.extra_keys());
      parts.emplace_back(name, m(static_cast<Index>(at_.i), static_cast<Index>(at_.j)));
    };
    if (all.attn_mask) part("attn_mask", Masks{std::nullopt, all.attn_mask, std::nullopt});
    if (all.mask) part("mask", Masks{all.mask, std::nullopt, std::nullopt});
    if (all.key_padding_mask) {
      part("key_padding_mask", Masks{std::nullopt, std::nullopt, all.key_padding_mask});
    }
    return parts;
  }

  void mask_notes(Explanation& e) const {
    std::vector<std::string> blocked;
    for (const auto& [name, value] : mask_parts()) {
      if (std::isinf(value)) blocked.push_back(name);
    }
    if (at_.j >= static_cast<std::size_t>(spec_.kv_len())) {
      e.notes.push_back("an extra key (bias_kv or zero_attn): no mask covers it, + 0");
    } else if (blocked.empty()) {
      e.notes.push_back("no mask blocks this key for this query");
    } else {
      e.notes.push_back(
          fmt::format("blocked by {}: −∞, and exp(−∞) = 0 gives this key no weight "
                      "(were every key of the row blocked, its weights would be nan)",
                      fmt::join(blocked, " and ")));
    }
  }

  void additive(Explanation& e) const {
    e.combine = Combine::sum;
    e.formula =
        fmt::format("additive_mask[{}i,j] = Σ over the masks given of each one's part", h_index());
    e.notes.push_back("a part is 0 (may attend), −∞ (blocked), or a float attn_mask's own number");
    for (const auto& [name, value] : mask_parts()) {
      e.terms.push_back({fmt::format("{}'s part", name), {value}, value});
    }
    mask_notes(e);
  }

  void softmax(Explanation& e) {
    e.combine = Combine::ratio;
    const std::string in = has(StageId::masking) ? "masked" : "scaled";
    const Tensor& s = tensor(has(StageId::masking) ? StageId::masking : StageId::scaling, in);
    const std::size_t keys = static_cast<std::size_t>(trace_.config.kv_len);
    std::vector<double> row(keys);
    for (std::size_t k = 0; k < keys; ++k) {
      Coord at = at_;
      at.j = k;
      row[k] = value_at(s, at);
    }
    const double m = *std::max_element(row.begin(), row.end());
    e.formula = fmt::format("weights[{0}i,j] = exp({1}[{0}i,j] − m_i) / Σ_k exp({1}[{0}i,k] − m_i)",
                            h_index(), in);
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
          {fmt::format("exp({}{} − m)", in, qk(at_.i, k)), {exponent}, std::exp(exponent)});
    }
    e.numerator = at_.j;
  }

  void weighted(Explanation& e) const {
    e.combine = Combine::product;
    const auto v = per_head("V");
    e.formula = fmt::format("weighted[{}i,j,c] = weights[{}i,j] × V{}[j,c]", h_index(), h_index(),
                            heads() ? "_h" : "");
    const double w = value_at(tensor(StageId::softmax, "weights"), at_);
    const double vv = head_value(v, at_.j, at_.c, true);
    e.terms.push_back({fmt::format("weights{}", qk(at_.i, at_.j)), {w}, w});
    e.terms.push_back(
        {fmt::format("V{}[{},{}]", h_sub(), token(Axis::key, at_.j), at_.c), {vv}, vv});
  }

  void context(Explanation& e) const {
    e.combine = Combine::sum;
    const auto v = per_head("V");
    e.formula = fmt::format("context[{}i,c] = Σ_j weights[{}i,j]·V{}[j,c]", h_index(), h_index(),
                            heads() ? "_h" : "");
    const Tensor& weights = tensor(StageId::softmax, "weights");
    for (std::size_t j = 0; j < static_cast<std::size_t>(trace_.config.kv_len); ++j) {
      Coord at = at_;
      at.j = j;
      const double w = value_at(weights, at), vv = head_value(v, j, at_.c, true);
      e.terms.push_back(
          {fmt::format("weights{}·V{}[{},{}]", qk(at_.i, j), h_sub(), token(Axis::key, j), at_.c),
           {w, vv},
           w * vv});
    }
  }

  void merge(Explanation& e) const {
    e.combine = Combine::copy;
    const std::size_t d = head_dim(), head = at_.c / d, column = at_.c % d;
    e.formula = fmt::format("context[i,c] = context_h[i, c − h·d] with h = c / d, d = {}", d);
    e.notes.push_back(
        fmt::format("column {} comes from head {}, its column {} (head {} fills "
                    "columns {} to {})",
                    at_.c, head, column, head, head * d, head * d + d - 1));
    Coord at = at_;
    at.h = head;
    at.c = column;
    const double v = value_at(tensor(StageId::summation, "context"), at);
    e.terms.push_back({fmt::format("summation.context[{}{},{},{}]", batch_lead(), head,
                                   token(Axis::query, at_.i), column),
                       {v},
                       v});
  }

  void output(Explanation& e) const {
    const Tensor& ctx = has(StageId::merge_heads) ? tensor(StageId::merge_heads, "context")
                                                  : tensor(StageId::summation, "context");
    Matrix row(1, static_cast<Index>(trace_.config.model_dim));
    for (Index k = 0; k < row.cols(); ++k) {
      Coord at = at_;
      at.c = static_cast<std::size_t>(k);
      row(0, k) = value_at(ctx, at);
    }
    linear(e, row, 0, batch_lead() + token(Axis::query, at_.i), *spec_.out_proj, "output",
           "context", "W_o", "b_o", at_.c);
  }

  static double combine(const Explanation& e) {
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

  const Spec& spec_;
  const Trace& trace_;
  Coord at_;
};

}  // namespace

CellRef parse_cell(std::string_view text) {
  const auto bad = [&](std::string_view why) -> Error {
    return Error(fmt::format("CELL '{}': {}", cut(text), why),
                 "write TENSOR[I,J,…] or STAGE.TENSOR[I,J,…], e.g. scores[0,2], "
                 "weights[am,good], split_heads.Q[1,0,1]");
  };
  const std::size_t open = text.find('[');
  if (open == std::string_view::npos || !text.ends_with(']')) {
    throw bad("expected an index in brackets at the end");
  }
  CellRef cell;
  const std::string_view name = text.substr(0, open);
  if (const std::size_t dot = name.find('.'); dot != std::string_view::npos) {
    cell.stage = std::string(name.substr(0, dot));
    cell.tensor = std::string(name.substr(dot + 1));
    if (cell.stage.empty()) throw bad("no stage name before the .");
  } else {
    cell.tensor = std::string(name);
  }
  if (cell.tensor.empty()) throw bad("no tensor name before the [");
  const std::string_view inside = text.substr(open + 1, text.size() - open - 2);
  if (inside.find_first_of("[]") != std::string_view::npos) {
    throw bad(
        "one pair of brackets, with the indices separated by commas: scores[0,1], not "
        "scores[0][1]");
  }
  std::size_t from = 0;
  while (true) {
    const std::size_t comma = inside.find(',', from);
    std::string_view part =
        inside.substr(from, comma == std::string_view::npos ? inside.npos : comma - from);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (part.empty()) throw bad("an empty index");
    cell.index.emplace_back(part);
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  return cell;
}

Explanation explain(const Spec& spec, const Trace& trace, const CellRef& cell) {
  return Explainer(spec, trace).run(cell);
}

}  // namespace attn_trace
