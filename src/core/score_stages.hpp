// The stages from the scores to the context, computed together tile by tile of queries: for each
// batch, head and tile of `query_tile` queries, scores → scaled → masked → weights → context, as
// far as the plan goes. Each query's row is independent of the others, so a plan computes only
// the tiles it shows (a focused query, a summarised walkthrough's first and last rows), and holds
// only the rows it shows; the tiles never change, so a row has the same numbers in every plan.
// Private to core.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "attn_trace/core/tensor.hpp"
#include "stage_words.hpp"
#include "tracing.hpp"

namespace attn_trace {

// Queries per tile for `keys` keys: up to 64, fewer for long sequences, so that a tile's scores
// take at most 2 MB (each core holds about six such matrices while it computes one). It depends on
// the spec alone, never on the plan: every plan computes a query in the same tile.
[[nodiscard]] Index query_tile(Index keys);

// The first query of each tile the plan computes.
[[nodiscard]] std::vector<Index> score_tiles(const Tracing& t);

// What the score stages computed, as each stage records it.
struct ScoreTensors {
  enum Which { scores, scaled, additive, masked, weights };
  std::array<std::optional<Tensor>, 5> held;
  // The weights the weighted values are computed from (the rows they show), when shown.
  std::shared_ptr<const Tensor> weights_for_weighted;
  std::vector<BlockedRow> blocked;  // the rows with every key blocked and nan weights

  // The tensor, as a stage's list: empty when the plan does not show it.
  [[nodiscard]] std::vector<Tensor> take(Which which);
};

// Runs the score stages the plan computes; the context goes to t.context.
[[nodiscard]] ScoreTensors compute_score_stages(Tracing& t);

// Whether the plan makes the weighted values: shown, and within its weighted_limit.
[[nodiscard]] bool makes_weighted(const Tracing& t);

// The weighted values as the plan records them, from `weights` (as the softmax holds them) and
// t.V (split into heads): held when small and every row is there, else generated block by block;
// without `weights` (not made), a tensor of their shape that holds no numbers.
[[nodiscard]] Tensor weighted_tensor(const Tracing& t, std::shared_ptr<const Tensor> weights);

}  // namespace attn_trace
