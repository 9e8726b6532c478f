// The text walkthrough. Reads the finished trace only; nothing here computes attention.
#include "attn_trace/render/text.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/render/ascii.hpp"
#include "attn_trace/render/heatmap.hpp"

namespace attn_trace {
namespace {

constexpr std::size_t edge_items = 3;          // rows/columns/blocks kept at each end of a summary
constexpr std::size_t gap = SIZE_MAX;          // marks "…" in a list of shown indices
constexpr std::size_t max_label = 12;          // token labels are cut to this many columns
constexpr std::size_t max_header_tokens = 20;  // more are summarised in the header

// `text` on lines of at most `width` columns, broken between words; every line after the first
// starts with `indent`. Runs of spaces inside a line are kept (formulas use them as separators).
std::string wrap_words(std::string_view text, std::size_t width, std::string_view indent) {
  std::string out, line;
  std::size_t line_width = 0;
  for (std::size_t start = 0; start < text.size();) {
    // The next chunk: the spaces before a word, then the word.
    std::size_t word_start = text.find_first_not_of(' ', start);
    if (word_start == std::string_view::npos) break;
    std::size_t word_end = text.find(' ', word_start);
    if (word_end == std::string_view::npos) word_end = text.size();
    const std::string_view spaces = text.substr(start, word_start - start);
    const std::string_view word = text.substr(word_start, word_end - word_start);
    const std::size_t word_width = display_width(word);
    if (line_width > indent.size() && line_width + spaces.size() + word_width > width) {
      out += line + "\n";
      line = std::string(indent);
      line_width = indent.size();
    } else {
      line += spaces;
      line_width += spaces.size();
    }
    line += word;
    line_width += word_width;
    start = word_end;
  }
  return out + line;
}

// Indices 0 … n−1, or the first and last edge_items with a gap between.
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

// Fixed-point with `precision` decimals; scientific beyond ±1e9, where fixed digits stop helping.
// −inf, which a mask puts in blocked cells, prints as −∞ so that those cells stand out.
std::string format_number(double value, int precision) {
  if (std::isinf(value)) return value < 0 ? "−∞" : "∞";
  if (std::isfinite(value) && std::abs(value) >= 1e9) {
    return fmt::format("{:.{}e}", value, precision);
  }
  if (std::isnan(value)) return "nan";  // never "-nan": the sign of a nan means nothing
  std::string s = fmt::format("{:.{}f}", value, precision);
  // "-0.0000" says nothing a learner needs; a value that rounds to zero prints as zero.
  if (s.starts_with('-') && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

// A cell of `t`: true/false for a boolean mask; a whole number without decimals in a mask as given
// (`whole`), so that 1/0 and 0/−∞ read as the flags they are; else format_number.
std::string format_cell(const Tensor& t, double value, int precision, bool whole) {
  if (t.boolean) return value != 0 ? "true" : "false";
  if (whole && std::isfinite(value) && value == std::round(value) && std::abs(value) < 1e9) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return format_number(value, precision);
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

std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}
std::string pad_right(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// The closing summary lists at most this many query tokens per batch (the first and last few),
// unless TextOptions::full.
constexpr std::size_t max_summary_queries = 20;

class TextRenderer {
 public:
  TextRenderer(const Trace& trace, const TextOptions& options, std::ostream& out)
      : trace_(trace),
        options_(options),
        out_(&out),
        width_(static_cast<std::size_t>(options.width)) {}

  void render() {
    walk([](const Stage&, std::size_t, std::size_t) {});
  }

  std::vector<TextPage> pages() {
    std::vector<TextPage> out;
    std::ostringstream page;
    out_ = &page;
    // Each stage starts a page; what came before it (the header, the stage before) ends the last.
    walk([&](const Stage& stage, std::size_t number, std::size_t total) {
      if (!out.empty()) {
        out.back().text = page.str();
        page.str({});
      }
      out.push_back({stage.id, number, total, {}});
    });
    if (out.empty()) out.push_back({});  // no stage shown: the header alone
    out.back().text = page.str();
    return out;
  }

 private:
  // The whole walkthrough, calling `at_stage` before each stage shown.
  template <typename AtStage>
  void walk(AtStage&& at_stage) {
    header();
    const std::size_t total = trace_.stages.size();
    const StageSelection& selection = options_.stages;
    for (std::size_t n = 0; n < total; ++n) {
      const Stage& stage = trace_.stages[n];
      if (!selection.shows(stage.id)) continue;
      at_stage(stage, n + 1, total);
      stage_block(stage, n + 1, total);
    }
    // A stage asked for by name that this trace does not have: say why, where it would stand.
    for (const SkippedStage& skipped : trace_.skipped) {
      const auto& only = selection.only;
      if (std::find(only.begin(), only.end(), skipped.id) == only.end() &&
          skipped.id != selection.until) {
        continue;
      }
      line();
      line(wrap(
          fmt::format("(no {} stage in this trace: {})", stage_name(skipped.id), skipped.reason),
          width_, " "));
    }
    // The summary follows the last stage; --until a stage at or after it (one this trace does not
    // have, e.g. out_proj) still shows the whole trace.
    if (selection.only.empty() &&
        (!selection.until || *selection.until >= trace_.stages.back().id)) {
      summary();
    }
  }

  void line(std::string_view text = {}) { fmt::print(*out_, "{}\n", text); }

  // wrap_words, on the text as it will be printed: under --ascii "−∞" becomes "-inf" and "→"
  // "->", which are wider, so the text is converted before it is measured.
  std::string wrap(std::string_view text, std::size_t width, std::string_view indent) const {
    return options_.ascii ? wrap_words(to_ascii(text), width, to_ascii(indent))
                          : wrap_words(text, width, indent);
  }

  void header() {
    const TraceConfig& c = trace_.config;
    line(wrap(trace_.name.empty() ? "attn-trace" : "attn-trace · " + printable(trace_.name), width_,
              "  "));
    if (!trace_.description.empty()) line(wrap(printable(trace_.description), width_, ""));
    if (!trace_.source.empty()) line(wrap("source: " + printable(trace_.source), width_, "  "));
    line();

    // The header describes the whole input, whatever slice the tables show.
    const auto& tokens = trace_.focus ? trace_.focus->tokens : trace_.tokens;
    line(wrap(fmt::format("  tokens   {}", token_summary(tokens)), width_, "           "));
    const bool cross = c.key_source != KeySource::self;
    if (cross) {
      line(wrap(fmt::format("  keys     {}", token_summary(trace_.kv_tokens)), width_,
                "           "));
    }
    std::string sizes = fmt::format("L = {} token{}", c.q_len, c.q_len == 1 ? "" : "s");
    if (cross || c.kv_len != c.q_len) {
      sizes += fmt::format(" · S = {} key{}", c.kv_len, c.kv_len == 1 ? "" : "s");
    }
    sizes += fmt::format(" · E = {} · H = {} head{} · d = {}", c.embed_dim, c.num_heads,
                         c.num_heads == 1 ? "" : "s", c.head_dim);
    if (c.key_source == KeySource::kv_input) sizes += fmt::format(" · E_kv = {}", c.key_dim);
    if (c.key_source == KeySource::separate) {
      sizes += fmt::format(" · kdim = {} · vdim = {}", c.key_dim, c.value_dim);
    }
    if (c.model_dim != c.embed_dim) sizes += fmt::format(" · D = {}", c.model_dim);
    if (c.batch) sizes = fmt::format("B = {} · ", *c.batch) + sizes;
    line(wrap("  sizes    " + sizes, width_, "           "));
    line(fmt::format("  scale    × {:.6g} ({})", c.scale, scale_rule_text(c)));
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
    line(wrap("  weights  " + weights, width_, "           "));
    if (cross) {
      line(wrap(c.key_source == KeySource::kv_input
                    ? "  cross    queries from input, keys and values from kv_input"
                    : "  cross    queries from input, keys from key_input, values from value_input",
                width_, "           "));
    }
    if (!c.masks.empty()) {
      line(wrap(fmt::format("  masks    {}", fmt::join(c.masks, " · ")), width_, "           "));
    }
    if (trace_.focus) focus_line(*trace_.focus);
    for (const std::string& note : trace_.notes) line(wrap("  note: " + note, width_, "        "));
    for (const std::string& warning : trace_.warnings) {
      line(wrap("  warning: " + warning, width_, "           "));
    }
  }

  // "focus    head 1 (of 0–1) · query am (position 1 of 0–2)": what the tables were cut to.
  void focus_line(const TraceFocus& f) {
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
      for (const auto& tokens : trace_.tokens) {
        const std::string name = token_label(tokens.front());
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
      parts.push_back(fmt::format("query {} (position {}{})", fmt::join(names, " / "), *f.query,
                                  f.queries == 1 ? ", the only one" : " " + of(f.queries)));
    }
    if (parts.empty()) return;
    line(wrap(fmt::format("  focus    {}: every table shows only this slice{}",
                          fmt::join(parts, " · "), f.query ? "; all the keys still count" : ""),
              width_, "           "));
  }

  // The labels of one list, or of one list per batch when they differ: "a · b · c".
  std::string token_summary(const std::vector<std::vector<std::string>>& lists) const {
    const bool shared =
        std::all_of(lists.begin(), lists.end(), [&](const auto& list) { return list == lists[0]; });
    std::vector<std::string> out;
    for (std::size_t b = 0; b < (shared ? 1 : lists.size()); ++b) {
      std::vector<std::string> labels;
      const std::vector<std::string>& tokens = lists[b];
      for (std::size_t i :
           shown(tokens.size(), !options_.full && tokens.size() > max_header_tokens)) {
        labels.push_back(i == gap ? "…" : token_label(tokens[i]));
      }
      out.push_back(fmt::format("{}{}", shared ? "" : fmt::format("batch {}: ", b),
                                fmt::join(labels, " · ")));
    }
    return fmt::format("{}", fmt::join(out, "; "));
  }

  static std::string scale_rule_text(const TraceConfig& c) {
    switch (c.scale_rule) {
      case ScaleRule::head_dim:
        return fmt::format("1/√d = 1/√{}, as PyTorch", c.head_dim);
      case ScaleRule::embed_dim:
        return fmt::format("1/√E = 1/√{}", c.embed_dim);
      case ScaleRule::none:
        return "no scaling";
      case ScaleRule::custom:
        return "a custom multiplier";
    }
    return "";
  }

  // After the whole walkthrough: what came out, and whom each query token attends to most.
  void summary() {
    const Stage* softmax = trace_.find_stage(StageId::softmax);
    if (!softmax || trace_.stages.empty()) return;
    line();
    const std::string title = "━━ summary ";
    line(title + repeat("━", width_ - display_width(title)));
    const Stage& last = trace_.stages.back();
    const Tensor& result = last.tensors.back();
    // The result once more, so that the summary can be read (or projected) on its own.
    line(wrap(fmt::format("  The result, {} of the {} stage:", result.name, stage_name(last.id)),
              width_, "  "));
    tensor_block(result, false, nullptr);
    line();
    line("  Each query token attends most to:");
    const Tensor& weights = softmax->tensors.front();
    const std::size_t queries = weights.rows();
    // From the tensor itself: a focused trace keeps one head, or one batch.
    const auto head_axis = std::find(weights.axes.begin(), weights.axes.end(), Axis::head);
    const std::size_t heads =
        head_axis == weights.axes.end() ? 1 : weights.shape[head_axis - weights.axes.begin()];
    const std::size_t batches = weights.block_count() / heads;
    const bool several_heads = trace_.config.num_heads > 1;
    const Tensor* additive = additive_mask_for(weights);
    for (std::size_t b = 0; b < batches; ++b) {
      if (batches > 1 || (trace_.focus && trace_.focus->batch && trace_.config.batch)) {
        line(fmt::format("  batch {}", label(Axis::batch, b, b)));
      }
      for (std::size_t i : shown(queries, !options_.full && queries > max_summary_queries)) {
        if (i == gap) {
          line("    ⋮");
          continue;
        }
        std::vector<std::string> picks;
        for (std::size_t h = 0; h < heads; ++h) {
          picks.push_back(
              (several_heads ? fmt::format("head {}: ", label(Axis::head, h, b)) : "") +
              strongest_key(weights, additive, b * heads + h, static_cast<Index>(i), b));
        }
        line(wrap(fmt::format("    {} → {}", label(Axis::query, i, b), fmt::join(picks, " · ")),
                  width_, "        "));
      }
    }
  }

  // "good 0.37": the key query row `i` of block `block` attends to most, its weight, and how many
  // keys tie with it; or why there is none (a row of nan: every key blocked, or an overflow).
  std::string strongest_key(const Tensor& weights, const Tensor* additive, std::size_t block,
                            Index i, std::size_t b) const {
    const auto row = weights.block(block).row(i);
    std::optional<Index> best;
    for (Index j = 0; j < row.size(); ++j) {
      if (!std::isnan(row(j)) && (!best || row(j) > row(*best))) best = j;
    }
    if (!best) {
      const bool blocked = additive && additive->block(block).row(i).unaryExpr(&blocks_key).all();
      return blocked ? "no key (every key blocked)" : "no key (nan: see the warnings)";
    }
    const double w = row(*best);
    Index ties = 0;
    for (Index j = 0; j < row.size(); ++j) {
      if (j != *best && std::abs(row(j) - w) <= 1e-12 * std::max(1.0, std::abs(w))) ++ties;
    }
    return fmt::format("{} {:.2f}{}", label(Axis::key, static_cast<std::size_t>(*best), b), w,
                       ties == 0 ? "" : fmt::format(" (tied with {} more)", ties));
  }

  // The masking stage's additive mask for a tensor of scores' shape, or nullptr without masks.
  const Tensor* additive_mask_for(const Tensor& t) const {
    if (const Stage* masking = trace_.find_stage(StageId::masking)) {
      for (const Tensor& m : masking->tensors) {
        if (m.name == "additive_mask" && m.shape == t.shape) return &m;
      }
    }
    return nullptr;
  }

  void stage_block(const Stage& stage, std::size_t number, std::size_t total) {
    line();
    const std::string title =
        fmt::format("━━ {}/{} · {} · {} ", number, total, stage_name(stage.id), stage.title);
    const std::size_t used = display_width(title);
    line(used < width_ ? title + repeat("━", width_ - used) : title);
    if (options_.explain) {
      const StageInfo& text = stage_info(stage.id);
      line(wrap(fmt::format("  {} {}", text.what, text.why), width_, "  "));
      line(wrap(fmt::format("  Shape rule: {}", text.shape), width_, "  "));
    }
    line(wrap("  " + stage.formula, width_, "      "));
    line(wrap("  shapes: " + stage.shapes, width_, "      "));
    if (!stage.note.empty()) line(wrap("  " + stage.note, width_, "  "));
    if (stage.id == StageId::masking) {
      line(wrap("  −∞ marks a blocked cell: exp(−∞) = 0, so that key gets no weight.", width_,
                "  "));
    }
    for (const Tensor& tensor : stage.tensors) {
      if (const auto why = left_out(stage, tensor, options_.weighted_limit)) {
        line();
        line(wrap(fmt::format("{} ({}): {}", tensor.name, fmt::join(tensor.shape, "×"), *why),
                  width_, "  "));
        continue;
      }
      // The masks as given and their additive form are flags: 1/0, 0/−∞, without decimals.
      const std::optional<Heat> shading = heat(stage, tensor);
      tensor_block(tensor, stage.id == StageId::masking && tensor.name != "masked",
                   shading ? &*shading : nullptr);
      for (const PublishedCheck& check : trace_.published) {
        if (check.published.stage == stage.id && check.published.tensor == tensor.name) {
          published(check);
        }
      }
    }
  }

  // How a heatmap table is shaded: its scale, and where its blocked cells are.
  struct Heat {
    HeatScale scale;
    bool weights = false;              // the softmax's weights: a fixed scale from 0 to 1
    bool any = false;                  // the table has a number to shade
    const Tensor* additive = nullptr;  // the masking stage's additive_mask, when there is one
  };

  // The heatmap of this tensor, or none: only scores, scaled, masked and weights are shaded, and
  // only when colour is on.
  std::optional<Heat> heat(const Stage& stage, const Tensor& t) const {
    if (options_.color == ColorMode::none || t.generated()) return std::nullopt;
    const bool shaded = (stage.id == StageId::scores && t.name == "scores") ||
                        (stage.id == StageId::scaling && t.name == "scaled") ||
                        (stage.id == StageId::masking && t.name == "masked") ||
                        (stage.id == StageId::softmax && t.name == "weights");
    if (!shaded) return std::nullopt;
    Heat h;
    if (t.name == "masked" || t.name == "weights") h.additive = additive_mask_for(t);
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

  // "shade  0  0.25  0.5  0.75  1  weights 0 → 1 · 0 blocked": the scale, on the shades
  // themselves.
  void legend(const Heat& h, bool blocked) {
    const auto swatch = [&](double v) {
      // Three significant digits: short for any range (−1e9 included), distinct for a narrow one.
      std::string number = fmt::format("{:.3g}", v);
      if (number == "-0") number = "0";
      return " " +
             on_background(" " + symbol(number) + " ", heat_shade(v, h.scale), options_.color);
    };
    std::string text = "  shade ";
    if (!h.any) {
      text += " no finite number to shade";
    } else if (h.scale.low == h.scale.high) {
      text += swatch(h.scale.low) + "  every number the same";
    } else {
      constexpr int steps = 5;
      for (int k = 0; k < steps; ++k) {
        text += swatch(h.scale.low + (h.scale.high - h.scale.low) * k / (steps - 1));
      }
      text += h.weights ? "  weights 0 → 1" : "  low → high";
    }
    if (blocked) {
      text +=
          symbol(" · ") +
          on_background(h.weights ? " 0 " : symbol(" −∞ "), blocked_shade, options_.color, true) +
          " blocked";
    }
    line(symbol(text));
  }

  // The background of one cell of a shaded table and whether a mask blocked it; none for a number
  // that is not finite and not blocked (an overflow), which no shade would describe.
  static std::optional<std::pair<Rgb, bool>> cell_shade(const Heat& h, double value,
                                                        const Matrix* additive, Index r, Index c) {
    if (additive && blocks_key((*additive)(r, c))) return std::pair{blocked_shade, true};
    if (!std::isfinite(value)) return std::nullopt;
    return std::pair{heat_shade(value, h.scale), false};
  }

  // How the source's printed numbers compare: "matches the published values (to 4 decimals)",
  // or each number that differs, and why when the example says.
  void published(const PublishedCheck& check) {
    const PublishedTensor& p = check.published;
    const std::string to = fmt::format("to {} decimal{}", p.decimals, p.decimals == 1 ? "" : "s");
    if (check.mismatches.empty()) {
      line(wrap(fmt::format("  ✓ {} matches the published values ({})", p.tensor, to), width_,
                "    "));
      return;
    }
    std::vector<std::string> cells;
    constexpr std::size_t max_listed = 6;
    for (std::size_t i = 0; i < check.mismatches.size() && i < max_listed; ++i) {
      const PublishedMismatch& m = check.mismatches[i];
      cells.push_back(fmt::format("[{}] published {}, traced {} (off by {})",
                                  fmt::join(m.index, ","), format_number(m.published, p.decimals),
                                  format_number(m.traced, std::max(options_.precision, p.decimals)),
                                  format_number(std::abs(m.traced - m.published),
                                                std::max(options_.precision, p.decimals))));
    }
    if (check.mismatches.size() > max_listed) {
      cells.push_back(fmt::format("and {} more", check.mismatches.size() - max_listed));
    }
    line(wrap(fmt::format("  ✗ {} differs from the published values ({}) in {} of {} numbers:",
                          p.tensor, to, check.mismatches.size(), p.values.size()),
              width_, "    "));
    // One difference per line, so that each can be read (and pointed at) on its own.
    for (const std::string& cell : cells) line(wrap("    " + cell, width_, "      "));
    if (!p.note.empty()) line(wrap("    why: " + printable(p.note), width_, "    "));
  }

  static std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
  }

  // The label of index i along an axis, for batch b.
  std::string label(Axis axis, std::size_t i, std::size_t b) const {
    switch (axis) {
      case Axis::query:
        return token_label(trace_.tokens[b][i]);
      case Axis::key:
        return token_label(trace_.kv_tokens[b][i]);
      default:  // a focused trace counts its one batch or head as the whole trace does
        return std::to_string(trace_.whole_index(axis, i));
    }
  }

  // A token as a short one-line label.
  static std::string token_label(const std::string& token) {
    return truncate_to_width(printable(token), max_label);
  }

  void tensor_block(const Tensor& t, bool whole, const Heat* heat) {
    const bool summarise = !options_.full && t.size() > summary_threshold;
    std::vector<std::string> axis_names;
    for (Axis a : t.axes) axis_names.emplace_back(axis_name(a));
    line();
    line(fmt::format("{} ({})   [{}]", t.name, fmt::join(t.shape, "×"),
                     fmt::join(axis_names, " × ")));
    if (summarise) {
      line(fmt::format("  {} numbers: the first and last {} of each axis shown; --full shows all",
                       t.size(), edge_items));
    }

    // Fetch every shown block once (a generated one is computed here) and format its shown
    // numbers, to find the common width.
    std::vector<BlockEntry> blocks = shown_blocks(t, summarise);
    const std::vector<std::size_t> rows = shown(t.rows(), summarise);
    const std::vector<std::size_t> cols = shown(t.cols(), summarise);
    std::size_t number_width = 1;
    bool any_blocked = false;
    for (BlockEntry& entry : blocks) {
      if (!entry.gap.empty()) continue;
      entry.values = t.block_values(entry.block);
      if (heat && heat->additive) entry.additive = heat->additive->block_values(entry.block);
      const Matrix& m = entry.values;
      for (std::size_t r : rows) {
        for (std::size_t c : cols) {
          if (r == gap || c == gap) continue;
          const std::string cell = cell_text(t, m(static_cast<Index>(r), static_cast<Index>(c)),
                                             options_.precision, whole);
          number_width = std::max(number_width, display_width(cell));
          if (heat) {
            const auto shade = cell_shade(*heat, m(static_cast<Index>(r), static_cast<Index>(c)),
                                          heat->additive ? &entry.additive : nullptr,
                                          static_cast<Index>(r), static_cast<Index>(c));
            any_blocked |= shade && shade->second;
          }
        }
      }
    }
    if (heat) legend(*heat, any_blocked);

    const std::size_t leading = t.rank() >= 2 ? t.rank() - 2 : 0;
    for (std::size_t n = 0; n < blocks.size(); ++n) {
      const BlockEntry& entry = blocks[n];
      if (!entry.gap.empty()) {
        line(entry.gap);
        continue;
      }
      const std::size_t b = leading > 0 && t.axes.front() == Axis::batch ? entry.index[0] : 0;
      if (leading > 0) {
        if (n > 0) line();
        std::vector<std::string> parts;
        for (std::size_t a = 0; a < leading; ++a) {
          parts.push_back(
              fmt::format("{} {}", axis_name(t.axes[a]), label(t.axes[a], entry.index[a], b)));
        }
        line(fmt::format("  {}", fmt::join(parts, " · ")));
      }
      matrix_block(t, entry.values, rows, cols, b, number_width, whole, heat,
                   heat && heat->additive ? &entry.additive : nullptr);
    }
  }

  // One 2-D block to print (its index along each leading axis and its flat number), or, when
  // `gap` is set, the line that stands for the blocks a summary leaves out.
  struct BlockEntry {
    std::vector<std::size_t> index;
    std::size_t block = 0;
    std::string gap;
    Matrix values;    // the block's numbers, once fetched
    Matrix additive;  // the same block of the additive mask, for a shaded table
  };

  // Every combination of the leading axes' shown indices, in order, with gap lines between.
  static std::vector<BlockEntry> shown_blocks(const Tensor& t, bool summarise) {
    const std::size_t leading = t.rank() >= 2 ? t.rank() - 2 : 0;
    std::vector<BlockEntry> entries;
    std::vector<std::size_t> index(leading, 0);
    const auto visit = [&](const auto& self, std::size_t axis) -> void {
      if (axis == leading) {
        std::size_t block = 0;
        for (std::size_t a = 0; a < leading; ++a) block = block * t.shape[a] + index[a];
        entries.push_back({index, block, "", {}, {}});
        return;
      }
      for (std::size_t i : shown(t.shape[axis], summarise)) {
        if (i == gap) {
          entries.push_back({{},
                             0,
                             fmt::format("  ⋮ ({} more {})", t.shape[axis] - 2 * edge_items,
                                         axis_plural(t.axes[axis])),
                             {},
                             {}});
          continue;
        }
        index[axis] = i;
        self(self, axis + 1);
      }
    };
    visit(visit, 0);
    return entries;
  }

  void matrix_block(const Tensor& t, const Matrix& m, const std::vector<std::size_t>& rows,
                    const std::vector<std::size_t>& cols, std::size_t b, std::size_t number_width,
                    bool whole, const Heat* heat, const Matrix* additive) {
    const Axis row_axis = t.rank() >= 2 ? t.axes[t.rank() - 2] : Axis::feature;
    const Axis col_axis = t.axes.back();
    // A rank-1 tensor is one row without a label.
    const auto row_label = [&](std::size_t r) {
      return t.rank() >= 2 ? label(row_axis, r, b) : std::string();
    };

    std::size_t label_width = t.rank() >= 2 ? 1 : 0;
    for (std::size_t r : rows) {
      if (r != gap) label_width = std::max(label_width, display_width(row_label(r)));
    }
    std::vector<std::size_t> col_width;
    for (std::size_t c : cols) {
      col_width.push_back(c == gap ? display_width(symbol("…"))
                                   : std::max(number_width, display_width(label(col_axis, c, b))));
    }

    // Split the columns into chunks that fit the width.
    const std::size_t indent = 4 + label_width;
    std::vector<std::pair<std::size_t, std::size_t>> chunks;  // [first, last) into cols
    for (std::size_t first = 0; first < cols.size();) {
      std::size_t used = indent, last = first;
      while (last < cols.size() && (last == first || used + 2 + col_width[last] <= width_)) {
        used += 2 + col_width[last++];
      }
      chunks.emplace_back(first, last);
      first = last;
    }

    for (const auto& [first, last] : chunks) {
      if (chunks.size() > 1) {
        const auto name = [&](std::size_t k) {
          return cols[k] == gap ? std::string("…") : std::to_string(cols[k]);
        };
        // A chunk may start or end at the summary's gap: name the real columns around it.
        std::size_t from = first, to = last - 1;
        if (cols[from] == gap) ++from;
        if (cols[to] == gap) --to;
        line(fmt::format("    columns {}–{}{}", name(from), name(to),
                         cols[first] == gap || cols[last - 1] == gap ? " (and …)" : ""));
      }
      std::string head = std::string(indent, ' ');
      for (std::size_t k = first; k < last; ++k) {
        head += "  " +
                pad_left(cols[k] == gap ? symbol("…") : label(col_axis, cols[k], b), col_width[k]);
      }
      line(head);
      for (std::size_t r : rows) {
        if (r == gap) {
          line(fmt::format("    {}", pad_right("⋮", label_width)));
          continue;
        }
        std::string text = "    " + pad_right(row_label(r), label_width);
        for (std::size_t k = first; k < last; ++k) {
          if (cols[k] == gap) {
            text += "  " + pad_left(symbol("…"), col_width[k]);
            continue;
          }
          const Index row = static_cast<Index>(r), col = static_cast<Index>(cols[k]);
          const std::string cell =
              pad_left(cell_text(t, m(row, col), options_.precision, whole), col_width[k]);
          const auto shade =
              heat ? cell_shade(*heat, m(row, col), additive, row, col) : std::nullopt;
          if (!shade) {
            text += "  " + cell;
            continue;
          }
          // The shade takes the column's padding and one space of the gap before it, so that
          // the shaded cells line up as blocks with a one-column gap between them.
          text += " " + on_background(" " + cell, shade->first, options_.color, shade->second);
        }
        line(text);
      }
    }
  }

  // A table cell, and the marks of a summarised table, as --ascii wants them: their widths must be
  // known before the columns are padded, so they are converted here rather than in the end.
  std::string cell_text(const Tensor& t, double value, int precision, bool whole) const {
    const std::string cell = format_cell(t, value, precision, whole);
    return options_.ascii ? to_ascii(cell) : cell;
  }
  std::string symbol(std::string_view unicode) const {
    return options_.ascii ? to_ascii(unicode) : std::string(unicode);
  }

  const Trace& trace_;
  const TextOptions& options_;
  std::ostream* out_;
  std::size_t width_;
};

}  // namespace

namespace {

// --ascii: the tables are converted cell by cell as they are drawn (their widths must be known
// before the columns are padded); the headers, formulas and notes are converted here.
std::string ascii_text(const std::string& unicode, std::size_t width) {
  std::istringstream lines(to_ascii(unicode));
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    // A stage's rule, drawn to the width before "−∞" became "-inf", is cut back to it.
    while (line.size() > width && line.ends_with("==")) line.pop_back();
    out += line + '\n';
  }
  return out;
}

}  // namespace

void render_text(const Trace& trace, const TextOptions& options, std::ostream& out) {
  if (!options.ascii) return TextRenderer(trace, options, out).render();
  std::ostringstream unicode;
  TextRenderer(trace, options, unicode).render();
  out << ascii_text(unicode.str(), static_cast<std::size_t>(options.width));
}

std::vector<TextPage> render_text_pages(const Trace& trace, const TextOptions& options) {
  std::ostringstream unused;
  std::vector<TextPage> pages = TextRenderer(trace, options, unused).pages();
  if (options.ascii) {
    for (TextPage& page : pages) {
      page.text = ascii_text(page.text, static_cast<std::size_t>(options.width));
    }
  }
  return pages;
}

}  // namespace attn_trace
