// What every walkthrough format shows (walkthrough.hpp), read off the finished trace.
#include "walkthrough.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/render/text.hpp"

namespace attn_trace::walkthrough {
namespace {

constexpr std::size_t max_label = 12;          // token labels are cut to this many columns
constexpr std::size_t max_header_tokens = 20;  // more are summarised in the header
// The summary lists at most this many query tokens per batch (the first and last few), unless
// full.
constexpr std::size_t max_summary_queries = 20;

// "a · b · c": the labels of one list, or "batch 0: a · b; batch 1: c · d" when the batches' lists
// differ; the middle left out beyond max_header_tokens unless `full`.
std::string token_summary(const std::vector<std::vector<std::string>>& lists, bool full) {
  const bool shared =
      std::all_of(lists.begin(), lists.end(), [&](const auto& list) { return list == lists[0]; });
  std::vector<std::string> out;
  for (std::size_t b = 0; b < (shared ? 1 : lists.size()); ++b) {
    std::vector<std::string> labels;
    const std::vector<std::string>& tokens = lists[b];
    for (std::size_t i : shown(tokens.size(), !full && tokens.size() > max_header_tokens)) {
      labels.push_back(i == gap ? "…" : token_label(tokens[i]));
    }
    out.push_back(
        fmt::format("{}{}", shared ? "" : fmt::format("batch {}: ", b), fmt::join(labels, " · ")));
  }
  return fmt::format("{}", fmt::join(out, "; "));
}

// "B = 2 · L = 3 tokens · E = 4 · H = 2 heads · d = 2": every size, the usual ones always and the
// others (S, E_kv, kdim and vdim, D) only where they differ from the usual.
std::string sizes_text(const TraceConfig& c) {
  const bool cross = c.key_source != KeySource::self;
  std::string sizes = "L = " + plural(c.q_len, "token", "tokens");
  if (cross || c.kv_len != c.q_len) sizes += " · S = " + plural(c.kv_len, "key", "keys");
  sizes += fmt::format(" · E = {} · H = {} · d = {}", c.embed_dim,
                       plural(c.num_heads, "head", "heads"), c.head_dim);
  if (c.key_source == KeySource::kv_input) sizes += fmt::format(" · E_kv = {}", c.key_dim);
  if (c.key_source == KeySource::separate) {
    sizes += fmt::format(" · kdim = {} · vdim = {}", c.key_dim, c.value_dim);
  }
  if (c.model_dim != c.embed_dim) sizes += fmt::format(" · D = {}", c.model_dim);
  if (c.batch) sizes = fmt::format("B = {} · ", *c.batch) + sizes;
  return sizes;
}

// "× 0.707107 (1/√d = 1/√2, as PyTorch)": the multiplier, and the rule behind it.
std::string scale_text(const TraceConfig& c) {
  std::string rule;
  switch (c.scale_rule) {
    case ScaleRule::none:
      rule = "no scaling";
      break;
    case ScaleRule::custom:
      rule = "a custom multiplier";
      break;
    case ScaleRule::head_dim:
    case ScaleRule::embed_dim:
      rule = fmt::format("{} = {}", scale_rule_symbol(c.scale_rule),
                         scale_rule_value(c.scale_rule, c.head_dim, c.embed_dim));
      if (c.scale_rule == ScaleRule::head_dim) rule += ", as PyTorch";
      break;
  }
  return fmt::format("× {:.6g} ({})", c.scale, rule);
}

// "torch layout: W is (out, in), y = x·Wᵀ + b · with out_proj": how the inputs become Q, K, V.
std::string weights_text(const TraceConfig& c) {
  std::string weights;
  if (!c.learned_projections) {
    weights = c.key_source == KeySource::self       ? "none: Q = K = V = X"
              : c.key_source == KeySource::kv_input ? "none: Q = X, K = V = X_kv"
                                                    : "none: Q = X, K = X_k, V = X_v";
  } else if (c.weight_layout == WeightLayout::torch) {
    weights = "torch layout: W is (out, in), y = x·Wᵀ + b";
  } else {
    weights = "math layout: W is (in, out), y = x·W + b";
  }
  weights += c.out_proj ? " · with out_proj" : " · no out_proj";
  if (c.bias_kv) weights += " · bias_k/bias_v";
  if (c.zero_attn) weights += " · add_zero_attn";
  return weights;
}

// "head 1 (of 0–1) · query am (position 1 of 0–2): …": what the tables were cut to, or empty.
std::string focus_text(const Trace& trace, const TraceFocus& f) {
  std::vector<std::string> parts;
  // Positions count from 0, as in the tables: "of 0–3" says so.
  const auto of = [](std::size_t n) {
    return n == 1 ? std::string("the only one") : fmt::format("of 0–{}", n - 1);
  };
  if (f.batch) parts.push_back(fmt::format("batch {} ({})", *f.batch, of(f.batches)));
  if (f.head) parts.push_back(fmt::format("head {} ({})", *f.head, of(f.heads)));
  if (f.query) {
    // The query's token in each batch kept ("bark / hot" when the batches' tokens differ).
    std::vector<std::string> names;
    for (const auto& tokens : trace.tokens) {
      const std::string name = token_label(tokens.front());
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    parts.push_back(fmt::format("query {} (position {}{})", fmt::join(names, " / "), *f.query,
                                f.queries == 1 ? ", the only one" : " " + of(f.queries)));
  }
  if (parts.empty()) return {};
  return fmt::format("{}: every table shows only this slice{}", fmt::join(parts, " · "),
                     f.query ? "; all the keys still count" : "");
}

// "queries", "keys", "heads": the axis name for a count of several.
std::string axis_plural(Axis axis) {
  switch (axis) {
    case Axis::query:
      return "queries";
    case Axis::batch:
      return "batches";
    default:
      return std::string(axis_name(axis)) + "s";
  }
}

// "good 0.37": the key that query row `i` of block `block` of the weights attends to most, its
// weight, and how many keys tie with it; or why there is none (a row of nan: every key blocked, or
// an overflow). `additive` is the additive mask of the weights' shape, or nullptr.
std::string strongest_key(const Trace& trace, const Tensor& weights, const Tensor* additive,
                          std::size_t block, Index i, std::size_t b) {
  const auto row = weights.row_of(block, static_cast<std::size_t>(i));
  std::optional<Index> best;
  for (Index j = 0; j < row.size(); ++j) {
    if (!std::isnan(row(j)) && (!best || row(j) > row(*best))) best = j;
  }
  if (!best) {
    const bool blocked =
        additive &&
        additive->row_of(block, static_cast<std::size_t>(i)).unaryExpr(&blocks_key).all();
    return blocked ? "no key (every key blocked)" : "no key (nan: see the warnings)";
  }
  const double top = row(*best);
  Index ties = 0;
  for (Index j = 0; j < row.size(); ++j) {
    if (j != *best && std::abs(row(j) - top) <= 1e-12 * std::max(1.0, std::abs(top))) ++ties;
  }
  return fmt::format("{} {:.2f}{}",
                     axis_label(trace, Axis::key, static_cast<std::size_t>(*best), b), top,
                     ties == 0 ? "" : fmt::format(" (tied with {} more)", ties));
}

}  // namespace

}  // namespace attn_trace::walkthrough

namespace attn_trace {

Summarising walkthrough_summarising() {
  return {.threshold = summary_threshold,
          .edge = walkthrough::edge_items,
          .summary_queries = walkthrough::max_summary_queries};
}

}  // namespace attn_trace

namespace attn_trace::walkthrough {

BlockValues::BlockValues(const Tensor& t, std::size_t block) : tensor_(&t), block_(block) {
  if (t.generated()) generated_ = t.generate(block);
}

double BlockValues::operator()(Index row, Index col) const {
  if (tensor_->generated()) return generated_(row, col);
  if (!tensor_->partly_held()) {
    const std::size_t rows = tensor_->rows(), cols = tensor_->cols();
    return tensor_->data[(block_ * rows + static_cast<std::size_t>(row)) * cols +
                         static_cast<std::size_t>(col)];
  }
  return tensor_->row_of(block_, static_cast<std::size_t>(row))(0, col);
}

std::vector<std::size_t> shown(std::size_t n, bool summarise) {
  std::vector<std::size_t> out;
  if (!summarise || n <= 2 * edge_items) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (std::size_t i = 0; i < edge_items; ++i) out.push_back(i);
  out.push_back(gap);
  for (std::size_t i = n - edge_items; i < n; ++i) out.push_back(i);
  return out;
}

std::string format_number(double value, int precision) {
  if (const auto text = non_finite_text(value, Spelling::symbols)) return std::string(*text);
  if (std::abs(value) >= 1e9) return fmt::format("{:.{}e}", value, precision);
  std::string s = fmt::format("{:.{}f}", value, precision);
  // "-0.0000" says nothing a learner needs.
  if (s.starts_with('-') && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string token_label(const std::string& token) {
  return excerpt(token, max_label);
}

std::string axis_label(const Trace& trace, Axis axis, std::size_t i, std::size_t b) {
  switch (axis) {
    case Axis::query:
      return token_label(trace.tokens[b][i]);
    case Axis::key:
      return token_label(trace.kv_tokens[b][i]);
    default:  // a focused trace counts its one batch or head as the whole trace does
      return std::to_string(trace.whole_index(axis, i));
  }
}

const Tensor* additive_mask_for(const Trace& trace, const Tensor& t) {
  if (const Stage* masking = trace.find_stage(StageId::masking)) {
    for (const Tensor& m : masking->tensors) {
      if (m.name == "additive_mask" && m.shape == t.shape) return &m;
    }
  }
  return nullptr;
}

Header header_of(const Trace& trace, bool full) {
  const TraceConfig& c = trace.config;
  Header h;
  h.title = trace.name.empty() ? "attn-trace" : "attn-trace · " + printable(trace.name);
  h.description = printable(trace.description);
  h.source = printable(trace.source);
  // A focused trace's tokens are its slice; the header lists the whole input's.
  const auto& tokens = trace.focus ? trace.focus->tokens : trace.tokens;
  h.fields.push_back({"tokens", token_summary(tokens, full)});
  const bool cross = c.key_source != KeySource::self;
  if (cross) h.fields.push_back({"keys", token_summary(trace.kv_tokens, full)});
  h.fields.push_back({"sizes", sizes_text(c)});
  h.fields.push_back({"scale", scale_text(c)});
  h.fields.push_back({"weights", weights_text(c)});
  if (cross) {
    h.fields.push_back({"cross", c.key_source == KeySource::kv_input
                                     ? "queries from input, keys and values from kv_input"
                                     : "queries from input, keys from key_input, values from "
                                       "value_input"});
  }
  if (!c.masks.empty()) h.fields.push_back({"masks", fmt::format("{}", fmt::join(c.masks, " · "))});
  if (trace.focus) {
    if (std::string focus = focus_text(trace, *trace.focus); !focus.empty()) {
      h.fields.push_back({"focus", std::move(focus)});
    }
  }
  h.notes = trace.notes;
  h.warnings = trace.warnings;
  return h;
}

std::vector<ShownStage> shown_stages(const Trace& trace, const StageSelection& selection) {
  std::vector<ShownStage> out;
  const std::size_t total = trace.stages.size();
  for (std::size_t n = 0; n < total; ++n) {
    if (selection.shows(trace.stages[n].id)) out.push_back({&trace.stages[n], n + 1, total});
  }
  return out;
}

std::vector<std::string> absent_stage_notes(const Trace& trace, const StageSelection& selection) {
  std::vector<std::string> out;
  for (const SkippedStage& skipped : trace.skipped) {
    const auto& only = selection.only;
    if (std::find(only.begin(), only.end(), skipped.id) == only.end() &&
        skipped.id != selection.until) {
      continue;
    }
    out.push_back(
        fmt::format("no {} stage in this trace: {}", stage_name(skipped.id), skipped.reason));
  }
  return out;
}

bool shows_summary(const Trace& trace, const StageSelection& selection) {
  return !trace.stages.empty() && selection.only.empty() &&
         (!selection.until || *selection.until >= trace.stages.back().id);
}

bool whole_numbers(const Stage& stage, const Tensor& tensor) {
  return stage.id == StageId::masking && tensor.name != "masked";
}

std::string cell_text(const Tensor& t, double value, int precision, bool whole) {
  if (t.boolean) return value != 0 ? "true" : "false";
  if (whole && std::isfinite(value) && value == std::round(value) && std::abs(value) < 1e9) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return format_number(value, precision);
}

TableLayout table_layout(const Trace& trace, const Tensor& t, bool full) {
  TableLayout layout;
  layout.summarised = !full && t.size() > summary_threshold;
  std::vector<std::string> axis_names;
  for (Axis a : t.axes) axis_names.emplace_back(axis_name(a));
  layout.heading =
      fmt::format("{} {}   [{}]", t.name, dims_text(t.shape), fmt::join(axis_names, " × "));
  if (layout.summarised) {
    layout.summary_note =
        fmt::format("{} numbers: the first and last {} of each axis shown; --full shows all",
                    t.size(), edge_items);
  }
  layout.row_labels = t.rank() >= 2;
  layout.row_axis = t.rank() >= 2 ? t.axes[t.rank() - 2] : Axis::feature;
  layout.col_axis = t.axes.back();
  layout.rows = shown(t.rows(), layout.summarised);
  layout.cols = shown(t.cols(), layout.summarised);

  // Every combination of the leading axes' shown indices, in order, with gap lines between.
  const std::size_t leading = t.rank() >= 2 ? t.rank() - 2 : 0;
  std::vector<std::size_t> index(leading, 0);
  const auto visit = [&](const auto& self, std::size_t axis) -> void {
    if (axis == leading) {
      TableBlock entry;
      entry.index = index;
      for (std::size_t a = 0; a < leading; ++a) entry.block = entry.block * t.shape[a] + index[a];
      entry.batch = leading > 0 && t.axes.front() == Axis::batch ? index[0] : 0;
      // Each block under its index along the leading axes: "batch 0 · head 1".
      std::vector<std::string> parts;
      for (std::size_t a = 0; a < leading; ++a) {
        parts.push_back(fmt::format("{} {}", axis_name(t.axes[a]),
                                    axis_label(trace, t.axes[a], index[a], entry.batch)));
      }
      entry.title = fmt::format("{}", fmt::join(parts, " · "));
      layout.blocks.push_back(std::move(entry));
      return;
    }
    for (std::size_t i : shown(t.shape[axis], layout.summarised)) {
      if (i == gap) {
        TableBlock entry;
        entry.gap = fmt::format("⋮ ({} more {})", t.shape[axis] - 2 * edge_items,
                                axis_plural(t.axes[axis]));
        layout.blocks.push_back(std::move(entry));
        continue;
      }
      index[axis] = i;
      self(self, axis + 1);
    }
  };
  visit(visit, 0);
  return layout;
}

std::vector<std::size_t> whole_cell_index(const Trace& trace, const Tensor& t,
                                          const TableBlock& block, std::size_t row,
                                          std::size_t col) {
  std::vector<std::size_t> index = block.index;
  if (t.rank() >= 2) index.push_back(row);
  index.push_back(col);
  for (std::size_t a = 0; a < index.size() && a < t.axes.size(); ++a) {
    index[a] = trace.whole_index(t.axes[a], index[a]);
  }
  return index;
}

std::string cell_name(const Stage& stage, const Tensor& t, const std::vector<std::size_t>& index) {
  return fmt::format("{}.{}[{}]", stage_name(stage.id), t.name, fmt::join(index, ","));
}

PublishedLines published_lines(const PublishedCheck& check, int precision) {
  const PublishedTensor& p = check.published;
  const std::string to = "to " + plural(p.decimals, "decimal", "decimals");
  PublishedLines lines;
  lines.matches = check.mismatches.empty();
  if (lines.matches) {
    lines.headline = fmt::format("✓ {} matches the published values ({})", p.tensor, to);
    return lines;
  }
  // The traced numbers with at least the decimals published, so that a difference shows.
  const int decimals = std::max(precision, p.decimals);
  constexpr std::size_t max_listed = 6;
  for (std::size_t i = 0; i < check.mismatches.size() && i < max_listed; ++i) {
    const PublishedMismatch& m = check.mismatches[i];
    lines.items.push_back(
        fmt::format("[{}] published {}, traced {} (off by {})", fmt::join(m.index, ","),
                    format_number(m.published, p.decimals), format_number(m.traced, decimals),
                    format_number(std::abs(m.traced - m.published), decimals)));
  }
  if (check.mismatches.size() > max_listed) {
    lines.items.push_back(fmt::format("and {} more", check.mismatches.size() - max_listed));
  }
  lines.headline =
      fmt::format("✗ {} differs from the published values ({}) in {} of {} numbers:", p.tensor, to,
                  check.mismatches.size(), p.values.size());
  lines.why = printable(p.note);
  return lines;
}

std::vector<const PublishedCheck*> published_checks(const Trace& trace, const Stage& stage,
                                                    const Tensor& tensor) {
  std::vector<const PublishedCheck*> out;
  for (const PublishedCheck& check : trace.published) {
    if (check.published.stage == stage.id && check.published.tensor == tensor.name) {
      out.push_back(&check);
    }
  }
  return out;
}

std::optional<Heat> heat_of(const Trace& trace, const Stage& stage, const Tensor& t) {
  if (t.generated()) return std::nullopt;
  const bool shaded = (stage.id == StageId::scores && t.name == "scores") ||
                      (stage.id == StageId::scaling && t.name == "scaled") ||
                      (stage.id == StageId::masking && t.name == "masked") ||
                      (stage.id == StageId::softmax && t.name == "weights");
  if (!shaded) return std::nullopt;
  Heat h;
  if (t.name == "masked" || t.name == "weights") h.additive = additive_mask_for(trace, t);
  if (t.name == "weights") {
    h.weights = h.any = true;
    return h;
  }
  // The table's own range, blocked cells aside: the pattern within it is what a class looks for.
  for (std::size_t n = 0; n < t.data.size(); ++n) {
    const double v = t.data[n];
    if (!std::isfinite(v) || (h.additive && blocks_key(h.additive->data[n]))) continue;
    h.scale.low = h.any ? std::min(h.scale.low, v) : v;
    h.scale.high = h.any ? std::max(h.scale.high, v) : v;
    h.any = true;
  }
  return h;
}

std::optional<CellShade> cell_shade(const Heat& h, double value, const BlockValues* additive,
                                    Index r, Index c) {
  if (additive && blocks_key((*additive)(r, c))) return CellShade{blocked_shade, true};
  if (!std::isfinite(value)) return std::nullopt;
  return CellShade{heat_shade(value, h.scale), false};
}

std::vector<double> legend_values(const Heat& h) {
  if (!h.any) return {};
  if (h.scale.low == h.scale.high) return {h.scale.low};
  constexpr int steps = 5;
  std::vector<double> values;
  for (int k = 0; k < steps; ++k) {
    values.push_back(h.scale.low + (h.scale.high - h.scale.low) * k / (steps - 1));
  }
  return values;
}

std::string legend_caption(const Heat& h) {
  if (!h.any) return "no finite number to shade";
  if (h.scale.low == h.scale.high) return "every number the same";
  return h.weights ? "weights 0 → 1" : "low → high";
}

std::string legend_number(double value) {
  // Three significant digits: short for any range (−1e9 included), distinct for a narrow one.
  std::string number = fmt::format("{:.3g}", value);
  if (number == "-0") number = "0";
  return number;
}

std::optional<Summary> summary_of(const Trace& trace, bool full) {
  const Stage* softmax = trace.find_stage(StageId::softmax);
  if (!softmax || trace.stages.empty()) return std::nullopt;
  Summary summary;
  summary.last = &trace.stages.back();
  summary.result = &summary.last->tensors.back();
  const Tensor& weights = softmax->tensors.front();
  const std::size_t queries = weights.rows();
  // From the tensor itself: a focused trace keeps one head, or one batch.
  const auto head_axis = std::find(weights.axes.begin(), weights.axes.end(), Axis::head);
  const std::size_t heads =
      head_axis == weights.axes.end() ? 1 : weights.shape[head_axis - weights.axes.begin()];
  const std::size_t batches = weights.block_count() / heads;
  const bool several_heads = trace.config.num_heads > 1;
  const Tensor* additive = additive_mask_for(trace, weights);
  for (std::size_t b = 0; b < batches; ++b) {
    SummaryGroup group;
    if (batches > 1 || (trace.focus && trace.focus->batch && trace.config.batch)) {
      group.batch = "batch " + axis_label(trace, Axis::batch, b, b);
    }
    for (std::size_t i : shown(queries, !full && queries > max_summary_queries)) {
      if (i == gap) {
        group.lines.push_back({.gap = true});
        continue;
      }
      SummaryLine line{.query = axis_label(trace, Axis::query, i, b)};
      for (std::size_t h = 0; h < heads; ++h) {
        line.picks.push_back(
            (several_heads ? fmt::format("head {}: ", axis_label(trace, Axis::head, h, b)) : "") +
            strongest_key(trace, weights, additive, b * heads + h, static_cast<Index>(i), b));
      }
      group.lines.push_back(std::move(line));
    }
    summary.groups.push_back(std::move(group));
  }
  return summary;
}

}  // namespace attn_trace::walkthrough
