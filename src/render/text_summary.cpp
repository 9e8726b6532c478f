// The walkthrough's closing summary (write_summary, text_writer.hpp): the result once more, so that
// it can be read (or projected) on its own, and whom each query token attends to most.
#include "text_writer.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stage_id.hpp"

namespace attn_trace::walkthrough {
namespace {

// The summary lists at most this many query tokens per batch (the first and last few), unless
// --full.
constexpr std::size_t max_summary_queries = 20;

// "good 0.37": the key that query row `i` of block `block` of the weights attends to most, its
// weight, and how many keys tie with it; or why there is none (a row of nan: every key blocked, or
// an overflow). `additive` is the additive mask of the weights' shape, or nullptr.
std::string strongest_key(const TextWriter& w, const Tensor& weights, const Tensor* additive,
                          std::size_t block, Index i, std::size_t b) {
  const auto row = weights.block(block).row(i);
  std::optional<Index> best;
  for (Index j = 0; j < row.size(); ++j) {
    if (!std::isnan(row(j)) && (!best || row(j) > row(*best))) best = j;
  }
  if (!best) {
    const bool blocked = additive && additive->block(block).row(i).unaryExpr(&blocks_key).all();
    return blocked ? "no key (every key blocked)" : "no key (nan: see the warnings)";
  }
  const double top = row(*best);
  Index ties = 0;
  for (Index j = 0; j < row.size(); ++j) {
    if (j != *best && std::abs(row(j) - top) <= 1e-12 * std::max(1.0, std::abs(top))) ++ties;
  }
  return fmt::format("{} {:.2f}{}", w.label(Axis::key, static_cast<std::size_t>(*best), b), top,
                     ties == 0 ? "" : fmt::format(" (tied with {} more)", ties));
}

}  // namespace

void write_summary(TextWriter& w) {
  const Trace& trace = w.trace();
  const Stage* softmax = trace.find_stage(StageId::softmax);
  if (!softmax || trace.stages.empty()) return;
  w.line();
  w.line(rule("━━ summary ", w.width()));
  const Stage& last = trace.stages.back();
  const Tensor& result = last.tensors.back();
  w.wrapped(fmt::format("  The result, {} of the {} stage:", result.name, stage_name(last.id)),
            "  ");
  write_tensor(w, result, false, nullptr);
  w.line();
  w.line("  Each query token attends most to:");
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
    if (batches > 1 || (trace.focus && trace.focus->batch && trace.config.batch)) {
      w.line(fmt::format("  batch {}", w.label(Axis::batch, b, b)));
    }
    for (std::size_t i : shown(queries, !w.options().full && queries > max_summary_queries)) {
      if (i == gap) {
        w.line("    ⋮");
        continue;
      }
      std::vector<std::string> picks;
      for (std::size_t h = 0; h < heads; ++h) {
        picks.push_back(
            (several_heads ? fmt::format("head {}: ", w.label(Axis::head, h, b)) : "") +
            strongest_key(w, weights, additive, b * heads + h, static_cast<Index>(i), b));
      }
      w.wrapped(fmt::format("    {} → {}", w.label(Axis::query, i, b), fmt::join(picks, " · ")),
                "        ");
    }
  }
}

}  // namespace attn_trace::walkthrough
