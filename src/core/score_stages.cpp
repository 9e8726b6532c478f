// The score stages, tile by tile (score_stages.hpp).
#include "score_stages.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <numeric>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stages.hpp"

namespace attn_trace {
namespace {

using enum Axis;

// How many heads a recorded tensor keeps: H with a head axis, 1 once cut to one (or without).
std::size_t recorded_heads(const Tracing& t) {
  return t.layout.heads() > 1 && !t.plan.focus.head ? count(t.layout.heads()) : 1;
}

// `shaped`'s shape with each focused axis cut to 1.
std::vector<std::size_t> cut_shape(const Tracing& t, const Tensor& shaped) {
  std::vector<std::size_t> shape = shaped.shape;
  for (std::size_t a = 0; a < shape.size(); ++a) {
    if (t.keep[static_cast<std::size_t>(shaped.axes[a])]) shape[a] = 1;
  }
  return shape;
}

// A tensor like the scores as the plan records it: cut to the focus, or holding the rows shown.
Tensor holder(const Tracing& t, std::string name) {
  const Tensor shaped = t.scores_shaped(std::move(name));
  std::vector<std::size_t> shape = cut_shape(t, shaped);
  const std::size_t size =
      std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
  if (auto rows = t.rows_held(size)) {
    return make_partial_tensor(shaped.name, shaped.axes, std::move(shape), std::move(*rows));
  }
  return make_tensor(shaped.name, shaped.axes, std::move(shape));
}

// Copies the rows of batch b, head h that `held` keeps from `rows` (queries first_row …).
void put(const Tracing& t, Tensor& held, Index b, Index h, Index first_row, const Matrix& rows) {
  const TraceSlice& focus = t.plan.focus;
  if (focus.head && count(h) != *focus.head) return;  // computed only for the merge
  const std::size_t block =
      (focus.batch ? 0 : count(b)) * recorded_heads(t) + (focus.head ? 0 : count(h));
  const std::size_t rows_per_block = held.partly_held() ? held.held_rows.size() : held.rows();
  for (Index i = 0; i < rows.rows(); ++i) {
    const std::size_t row = count(first_row + i);
    std::size_t to = row;
    if (focus.query) {
      if (row != *focus.query) continue;
      to = 0;
    } else if (held.partly_held()) {
      const auto at = std::lower_bound(held.held_rows.begin(), held.held_rows.end(), row);
      if (at == held.held_rows.end() || *at != row) continue;
      to = static_cast<std::size_t>(at - held.held_rows.begin());
    }
    Eigen::Map<Matrix>(held.data.data() + (block * rows_per_block + to) * held.cols(), 1,
                       rows.cols()) = rows.row(i);
  }
}

// The size of the tensors a stage records, once cut: for the rows it holds.
std::size_t recorded_size(const Tracing& t, StageId id) {
  const Sizes& n = t.n();
  const std::size_t B = t.plan.focus.batch ? 1 : count(n.B), H = recorded_heads(t);
  const std::size_t L = t.plan.focus.query ? 1 : count(n.L), S = count(n.S);
  switch (id) {
    case StageId::weighted_values:
      return B * H * L * S * count(n.d);
    case StageId::summation:
      return B * H * L * count(n.d);
    case StageId::merge_heads:
      return B * L * count(n.D);
    case StageId::out_proj:
      return B * L * count(t.spec.out_proj ? t.spec.out_proj->weight.rows() : 0);
    default:
      return B * H * L * S;
  }
}

// One tile's work: the score stages for batch b, head h, queries first … first + rows − 1.
void compute_tile(Tracing& t, ScoreTensors& out, Index b, Index h, Index first,
                  std::vector<BlockedRow>& blocked) {
  const Spec& spec = t.spec;
  const Sizes& n = t.n();
  const std::size_t block = t.layout.head_block(b, h);
  const Index rows = std::min(query_tile(n.S), n.L - first);
  const auto keep = [&](ScoreTensors::Which which, const Matrix& m) {
    if (out.held[which]) put(t, *out.held[which], b, h, first, m);
  };
  const Matrix scores =
      attention_scores(t.Q.block(block).middleRows(first, rows), t.K.block(block));
  keep(ScoreTensors::scores, scores);
  if (!t.computes(StageId::scaling)) return;
  const Matrix scaled = scale_scores(scores, spec.scale());
  keep(ScoreTensors::scaled, scaled);
  Matrix additive, masked;
  if (t.computes(StageId::masking)) {
    additive = additive_mask_rows(spec.masks, b, h, n.H, n.S_given, spec.extra_keys(), first, rows);
    masked = mask_scores(scaled, additive);
    keep(ScoreTensors::additive, additive);
    keep(ScoreTensors::masked, masked);
  }
  if (!t.computes(StageId::softmax)) return;
  const Matrix weights = softmax_rows(t.computes(StageId::masking) ? masked : scaled);
  keep(ScoreTensors::weights, weights);
  if (t.computes(StageId::masking)) {
    for (Index i = 0; i < rows; ++i) {
      if (blocked_row(additive, weights, i)) blocked.push_back({b, h, first + i});
    }
  }
  if (!t.computes(StageId::summation)) return;
  Eigen::Map<Matrix>(t.context.data.data() + (block * count(n.L) + count(first)) * count(n.d), rows,
                     n.d) = weighted_sum(weights, t.V.block(block));
}

}  // namespace

Index query_tile(Index keys) {
  constexpr Index numbers = Index{1} << 18;  // 2 MB of doubles
  return std::clamp(numbers / std::max(keys, Index{1}), Index{8}, Index{64});
}

std::vector<Index> score_tiles(const Tracing& t) {
  const Index L = t.n().L;
  const Index tile = query_tile(t.n().S);
  std::vector<Index> tiles;
  if (!t.computes(StageId::scores)) return tiles;
  if (t.plan.focus.query) {
    return {static_cast<Index>(*t.plan.focus.query) / tile * tile};
  }
  // Every tile, unless each shown stage from the scores on holds only some rows: then the tiles
  // of those rows (the same for each: the first and last few).
  std::vector<std::size_t> rows;
  bool every_row = false;
  for (StageId id : t.computed) {
    if (id < StageId::scores || !t.shows(id)) continue;
    const auto held = t.rows_held(recorded_size(t, id));
    if (!held) every_row = true;
    if (held) rows.insert(rows.end(), held->begin(), held->end());
  }
  for (Index first = 0; first < L; first += tile) {
    const bool needed = every_row || std::any_of(rows.begin(), rows.end(), [&](std::size_t r) {
                          return static_cast<Index>(r) / tile * tile == first;
                        });
    if (needed) tiles.push_back(first);
  }
  return tiles;
}

std::vector<Tensor> ScoreTensors::take(Which which) {
  std::vector<Tensor> out;
  if (held[which]) out.push_back(std::move(*held[which]));
  held[which].reset();
  return out;
}

ScoreTensors compute_score_stages(Tracing& t) {
  ScoreTensors out;
  t.start(StageId::scores);
  if (!t.computes(StageId::scores)) return out;
  const Sizes& n = t.n();
  if (t.shows(StageId::scores)) out.held[ScoreTensors::scores] = holder(t, "scores");
  if (t.shows(StageId::scaling)) out.held[ScoreTensors::scaled] = holder(t, "scaled");
  if (t.shows(StageId::masking)) {
    out.held[ScoreTensors::additive] = holder(t, "additive_mask");
    out.held[ScoreTensors::masked] = holder(t, "masked");
  }
  if (t.shows(StageId::softmax) || makes_weighted(t)) {
    out.held[ScoreTensors::weights] = holder(t, "weights");
  }
  if (t.computes(StageId::summation)) {
    t.context = t.layout.shaped("context", true, {query, feature}, {count(n.L), count(n.d)});
    t.context.data.assign(t.context.size(), 0.0);
  }
  // Every task writes rows of its own; a failure (out of memory) is carried out of the loop.
  const Index heads = static_cast<Index>(t.heads.size());
  const Index tiles = static_cast<Index>(t.tiles.size());
  const Index tasks = static_cast<Index>(t.batches.size()) * heads * tiles;
  std::exception_ptr failure;
  std::vector<std::vector<BlockedRow>> blocked(static_cast<std::size_t>(tasks));
  // Threads cost more than they save on a small trace (and, once started, spin a while).
  const bool parallel = static_cast<double>(tasks) * static_cast<double>(query_tile(n.S)) *
                            static_cast<double>(n.S) * static_cast<double>(n.d) >
                        1e6;
#pragma omp parallel for schedule(dynamic) if (parallel)
  for (Index k = 0; k < tasks; ++k) {
    try {
      compute_tile(t, out, t.batches[count(k / tiles / heads)], t.heads[count(k / tiles % heads)],
                   t.tiles[count(k % tiles)], blocked[count(k)]);
    } catch (...) {
#pragma omp critical
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  // The warning names the rows the run shows, not others that share their tiles.
  const auto shown = t.rows_held(recorded_size(t, StageId::softmax));
  for (const std::vector<BlockedRow>& rows : blocked) {
    for (const BlockedRow& row : rows) {
      const std::size_t i = count(row.query);
      const bool kept = t.plan.focus.query ? i == *t.plan.focus.query
                        : shown            ? std::binary_search(shown->begin(), shown->end(), i)
                                           : true;
      if (kept && (!t.plan.focus.head || count(row.head) == *t.plan.focus.head)) {
        out.blocked.push_back(row);
      }
    }
  }
  // Q and K have done their work; V still makes the weighted values.
  t.Q = Tensor{};
  t.K = Tensor{};
  if (makes_weighted(t)) {
    std::optional<Tensor>& weights = out.held[ScoreTensors::weights];
    out.weights_for_weighted = t.shows(StageId::softmax)
                                   ? std::make_shared<const Tensor>(*weights)
                                   : std::make_shared<const Tensor>(std::move(*weights));
    if (!t.shows(StageId::softmax)) weights.reset();
  }
  return out;
}

bool makes_weighted(const Tracing& t) {
  return t.shows(StageId::weighted_values) &&
         recorded_size(t, StageId::weighted_values) <= t.plan.weighted_limit;
}

Tensor weighted_tensor(const Tracing& t, std::shared_ptr<const Tensor> weights) {
  const Sizes& n = t.n();
  const Tensor shaped = t.layout.shaped("weighted", true, {query, key, feature},
                                        {count(n.L), count(n.S), count(n.d)});
  std::vector<std::size_t> shape = cut_shape(t, shaped);
  if (!weights) return Tensor{shaped.name, shaped.axes, std::move(shape), {}, {}};
  const std::size_t size =
      std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
  // Block k of the tensor recorded is query i of head h of batch b of the whole trace.
  std::shared_ptr<const Tensor> values = std::make_shared<const Tensor>(t.V);
  const TraceSlice focus = t.plan.focus;
  const std::size_t heads = recorded_heads(t), queries = focus.query ? 1 : count(n.L);
  const Index all_heads = t.layout.heads();
  auto block = [weights, values, focus, heads, queries, all_heads](std::size_t k) {
    const std::size_t i = k % queries, head = k / queries % heads, batch = k / queries / heads;
    const Index b = static_cast<Index>(focus.batch.value_or(batch));
    const Index h = static_cast<Index>(focus.head.value_or(head));
    return weighted_values(weights->row_of(batch * heads + head, i),
                           values->block(count(b * all_heads + h)));
  };
  if (size > default_weighted_limit || weights->partly_held()) {
    return make_generated_tensor(shaped.name, shaped.axes, std::move(shape), std::move(block));
  }
  Tensor held = make_tensor(shaped.name, shaped.axes, std::move(shape));
  for (std::size_t k = 0; k < held.block_count(); ++k) held.set_block(k, block(k));
  return held;
}

}  // namespace attn_trace
