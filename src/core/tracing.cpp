// The trace being built (tracing.hpp): what a plan computes, and how a stage records it.
#include "tracing.hpp"

#include <algorithm>

#include "score_stages.hpp"

namespace attn_trace {
namespace {

// The focus: the batch, head and query kept, and Trace::focus, which renderers read.
void plan_focus(Tracing& t) {
  const TraceSlice& slice = t.plan.focus;
  if (!slice.any()) return;
  const Sizes& n = t.n();
  t.keep[static_cast<std::size_t>(Axis::batch)] = slice.batch;
  t.keep[static_cast<std::size_t>(Axis::head)] = slice.head;
  t.keep[static_cast<std::size_t>(Axis::query)] = slice.query;
  TraceFocus focus{.batch = slice.batch,
                   .head = slice.head,
                   .query = slice.query,
                   .batches = count(n.B),
                   .heads = count(n.H),
                   .queries = count(n.L),
                   .tokens = t.trace.tokens};
  if (slice.batch && t.trace.tokens.size() > 1) {
    t.trace.tokens = {t.trace.tokens[*slice.batch]};
    t.trace.kv_tokens = {t.trace.kv_tokens[*slice.batch]};
  }
  if (slice.query) {
    for (auto& tokens : t.trace.tokens) tokens = {tokens[*slice.query]};
  }
  t.trace.focus = std::move(focus);
}

// Which batches, heads and tiles of queries are computed.
void plan_work(Tracing& t) {
  const Sizes& n = t.n();
  const TraceSlice& slice = t.plan.focus;
  plan_focus(t);
  for (Index b = 0; b < n.B; ++b) {
    if (!slice.batch || count(b) == *slice.batch) t.batches.push_back(b);
  }
  // Merging the heads needs every head's context, the focused one or not.
  const bool every_head =
      !slice.head || t.computes(StageId::merge_heads) || t.computes(StageId::out_proj);
  for (Index h = 0; h < t.layout.heads(); ++h) {
    if (every_head || count(h) == *slice.head) t.heads.push_back(h);
  }
  t.tiles = score_tiles(t);
}

}  // namespace

// The trace's header: names, sizes, tokens, and what the loader noted.
Tracing::Tracing(const Spec& s, const TracePlan& p)
    : spec(s), plan(p), layout(Sizes::of(s)), computed(stages_computed(s, p)) {
  const Sizes& sizes = layout.n;
  trace.name = spec.name;
  trace.description = spec.description;
  trace.source = spec.source;
  trace.config = {.batch = spec.batched ? std::optional<Index>(sizes.B) : std::nullopt,
                  .q_len = sizes.L,
                  .kv_len = sizes.S,
                  .embed_dim = sizes.E,
                  .model_dim = sizes.D,
                  .num_heads = sizes.H,
                  .head_dim = sizes.d,
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
  trace.stages.reserve(all_stages().size());
  plan_work(*this);
}

bool Tracing::computes(StageId id) const {
  return std::find(computed.begin(), computed.end(), id) != computed.end();
}

bool Tracing::shows(StageId id) const {
  return computes(id) && plan.shown.shows(id);
}

Tensor Tracing::per_batch(std::string name, std::vector<Axis> axes, std::vector<std::size_t> dims,
                          const std::function<Matrix(Index b)>& block) const {
  Tensor t = layout.shaped(std::move(name), false, std::move(axes), std::move(dims));
  if (!computes(current_)) return t;
  t.data.assign(t.size(), 0.0);
  for (Index b : batches) t.set_block(count(b), block(b));
  return t;
}

Tensor Tracing::per_head(std::string name, std::vector<Axis> axes, std::vector<std::size_t> dims,
                         const std::function<Matrix(Index b, Index h)>& block) const {
  Tensor t = layout.shaped(std::move(name), true, std::move(axes), std::move(dims));
  if (!computes(current_)) return t;
  t.data.assign(t.size(), 0.0);
  // A copy of columns per head (split_heads): no work for more than one core.
  for (Index b : batches) {
    for (Index h = 0; h < layout.heads(); ++h) t.set_block(layout.head_block(b, h), block(b, h));
  }
  return t;
}

std::optional<std::vector<std::size_t>> Tracing::rows_held(std::size_t size) const {
  if (plan.focus.query) return std::nullopt;  // cut to one row
  return held_rows(plan, size, count(n().L));
}

std::vector<Tensor> Tracing::kept(std::vector<Tensor> tensors, bool row_local) const {
  if (!shows(current_)) return {};
  for (Tensor& t : tensors) {
    if (plan.focus.any()) t = cut_tensor(t, keep);
    const auto rows = row_local ? rows_held(t.size()) : std::nullopt;
    if (!rows) continue;
    Tensor partial = make_partial_tensor(t.name, t.axes, t.shape, *rows);
    for (std::size_t block = 0; block < t.block_count(); ++block) {
      for (std::size_t k = 0; k < rows->size(); ++k) {
        std::copy_n(t.data.begin() +
                        static_cast<std::ptrdiff_t>((block * t.rows() + (*rows)[k]) * t.cols()),
                    t.cols(),
                    partial.data.begin() +
                        static_cast<std::ptrdiff_t>((block * rows->size() + k) * t.cols()));
      }
    }
    t = std::move(partial);
  }
  return tensors;
}

Tensor Tracing::scores_shaped(std::string name) const {
  return layout.shaped(std::move(name), true, {Axis::query, Axis::key},
                       {count(n().L), count(n().S)});
}

void Tracing::record(StageId id, StageWords words, std::vector<Tensor> tensors) {
  if (!shows(id)) tensors.clear();
  std::string title = words.title.empty() ? std::string(stage_info(id).title) : words.title;
  trace.stages.emplace_back(Stage{.id = id,
                                  .title = std::move(title),
                                  .formula = std::move(words.formula),
                                  .shapes = std::move(words.shapes),
                                  .tensors = std::move(tensors),
                                  .note = std::move(words.note)});
}

}  // namespace attn_trace
