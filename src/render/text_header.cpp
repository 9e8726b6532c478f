// The walkthrough's header (write_header, text_writer.hpp): what was traced, then one field a line
// ("  tokens   …", "  sizes    …"), each wrapped under its value.
#include "text_writer.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"

namespace attn_trace::walkthrough {
namespace {

constexpr std::size_t max_header_tokens = 20;  // more are summarised in the header
// A field's value starts in this column, after "  tokens   "; its later lines start there too.
constexpr std::string_view field_indent = "           ";

// "a · b · c": the labels of one list, or "batch 0: a · b; batch 1: c · d" when the batches' lists
// differ; the middle left out beyond max_header_tokens unless --full.
std::string token_summary(const TextWriter& w, const std::vector<std::vector<std::string>>& lists) {
  const bool shared =
      std::all_of(lists.begin(), lists.end(), [&](const auto& list) { return list == lists[0]; });
  std::vector<std::string> out;
  for (std::size_t b = 0; b < (shared ? 1 : lists.size()); ++b) {
    std::vector<std::string> labels;
    const std::vector<std::string>& tokens = lists[b];
    for (std::size_t i :
         shown(tokens.size(), !w.options().full && tokens.size() > max_header_tokens)) {
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

// "1/√d = 1/√2, as PyTorch": the rule behind the scale, with its number.
std::string scale_text(const TraceConfig& c) {
  switch (c.scale_rule) {
    case ScaleRule::none:
      return "no scaling";
    case ScaleRule::custom:
      return "a custom multiplier";
    case ScaleRule::head_dim:
    case ScaleRule::embed_dim:
      break;
  }
  const std::string text = fmt::format("{} = {}", scale_rule_symbol(c.scale_rule),
                                       scale_rule_value(c.scale_rule, c.head_dim, c.embed_dim));
  return c.scale_rule == ScaleRule::head_dim ? text + ", as PyTorch" : text;
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

// "  focus    head 1 (of 0–1) · query am (position 1 of 0–2): …": what the tables were cut to.
void write_focus(TextWriter& w, const TraceFocus& f) {
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
    for (const auto& tokens : w.trace().tokens) {
      const std::string name = token_label(tokens.front());
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    parts.push_back(fmt::format("query {} (position {}{})", fmt::join(names, " / "), *f.query,
                                f.queries == 1 ? ", the only one" : " " + of(f.queries)));
  }
  if (parts.empty()) return;
  w.wrapped(fmt::format("  focus    {}: every table shows only this slice{}",
                        fmt::join(parts, " · "), f.query ? "; all the keys still count" : ""),
            field_indent);
}

}  // namespace

void write_header(TextWriter& w) {
  const Trace& trace = w.trace();
  const TraceConfig& c = trace.config;
  w.wrapped(trace.name.empty() ? "attn-trace" : "attn-trace · " + printable(trace.name), "  ");
  if (!trace.description.empty()) w.wrapped(printable(trace.description), "");
  if (!trace.source.empty()) w.wrapped("source: " + printable(trace.source), "  ");
  w.line();

  // A focused trace's tokens are its slice; the header lists the whole input's.
  const auto& tokens = trace.focus ? trace.focus->tokens : trace.tokens;
  w.wrapped("  tokens   " + token_summary(w, tokens), field_indent);
  const bool cross = c.key_source != KeySource::self;
  if (cross) w.wrapped("  keys     " + token_summary(w, trace.kv_tokens), field_indent);
  w.wrapped("  sizes    " + sizes_text(c), field_indent);
  w.line(fmt::format("  scale    × {:.6g} ({})", c.scale, scale_text(c)));
  w.wrapped("  weights  " + weights_text(c), field_indent);
  if (cross) {
    w.wrapped(c.key_source == KeySource::kv_input
                  ? "  cross    queries from input, keys and values from kv_input"
                  : "  cross    queries from input, keys from key_input, values from value_input",
              field_indent);
  }
  if (!c.masks.empty()) {
    w.wrapped(fmt::format("  masks    {}", fmt::join(c.masks, " · ")), field_indent);
  }
  if (trace.focus) write_focus(w, *trace.focus);
  for (const std::string& note : trace.notes) w.wrapped("  note: " + note, "        ");
  for (const std::string& warning : trace.warnings) {
    w.wrapped("  warning: " + warning, field_indent);
  }
}

}  // namespace attn_trace::walkthrough
