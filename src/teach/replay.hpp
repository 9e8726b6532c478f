// Attention once more, from a trace's own tensors, one node at a time — where the learner's own
// tensors, or a classic mistake (mistakes.hpp), may stand in for what a stage computes. check.cpp
// replays twice: to see whether a learner's later tensor follows from their own earlier ones, and
// to see which mistake reproduces their first wrong tensor. Private to teach.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "attn_trace/core/matrix.hpp"
#include "attn_trace/core/spec.hpp"
#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace::replay {

// Every tensor a stage computes from the one before, in paper order. K_ext and V_ext are the keys
// and values with the extra keys appended (extra_keys); Q_h, K_h, V_h the heads (split_heads);
// context_h each head's context (summation), context the heads merged (merge_heads).
enum class Node {
  X,
  Q,
  K,
  V,
  K_ext,
  V_ext,
  Q_h,
  K_h,
  V_h,
  scores,
  scaled,
  masked,
  weights,
  weighted,
  context_h,
  context,
  output,
};
inline constexpr std::size_t node_count = 17;

// Where the trace records a node.
struct Place {
  StageId stage;
  std::string_view tensor;
};
[[nodiscard]] Place place_of(Node node);
// The node recorded as `tensor` of `stage`, or none (the masks as given: nothing computes them).
[[nodiscard]] std::optional<Node> node_at(StageId stage, std::string_view tensor);

// A tensor as its 2-D blocks, in the trace's order: one per batch (X, Q, K, V, context, output),
// per batch and head (Q_h … context_h; per batch when there is one head), or per batch, head
// and query (weighted).
using Blocks = std::vector<Matrix>;

// The sizes of a trace, in the legend of spec.hpp: B batches (1 unbatched), `heads` blocks per
// batch (H, or 1 when there is one head and so no head axis).
struct Sizes {
  Index B = 1, H = 1, heads = 1, L = 0, S = 0, D = 0, d = 0;
};

// The tensors of one replay: the trace's, except where a replay changed them.
class Flow {
 public:
  Flow(const Spec& spec, const Trace& trace);

  const Spec& spec;
  const Sizes n;

  // The trace computes this node: its stage is there (split_heads only with heads …) and it is
  // held (a weighted_values too large to hold is not).
  [[nodiscard]] bool has(Node node) const { return has_[static_cast<std::size_t>(node)]; }
  // The node's blocks: as a replay set them, else as the trace has them. REQUIRES: has(node).
  [[nodiscard]] const Blocks& operator[](Node node) const;
  // The node's blocks as the trace has them. REQUIRES: has(node).
  [[nodiscard]] const Blocks& traced(Node node) const {
    return trace_[static_cast<std::size_t>(node)];
  }
  void set(Node node, Blocks blocks) {
    changed_[static_cast<std::size_t>(node)] = std::move(blocks);
  }
  // Back to the trace's tensors.
  void reset();

  // What a stage reads for `node` in this trace: Q_h is Q with one head, K_h the keys after the
  // extra keys (K_ext) or before (K), masked is scaled without masks, context the heads' own
  // context (context_h) with one head.
  [[nodiscard]] Node source(Node node) const;
  // The additive mask of the masking stage, per batch and head. REQUIRES: has(Node::masked).
  [[nodiscard]] const Blocks& additive() const { return additive_; }

 private:
  std::array<bool, node_count> has_{};
  std::array<Blocks, node_count> trace_;
  std::array<std::optional<Blocks>, node_count> changed_;
  Blocks additive_;
};

// A stand-in for a stage's math at some nodes: the node's value, or none where the stage computes
// it as usual.
using Override = std::function<std::optional<Blocks>(Node node, const Flow& flow)>;
// The learner's own value of a node, or nullptr where they gave none.
using Own = std::function<const Blocks*(Node node)>;

// The blocks of `tensor` (held, not generated), in its order.
[[nodiscard]] Blocks blocks_of(const Tensor& tensor);

// An Index as a position in a vector.
[[nodiscard]] constexpr std::size_t count_of(Index i) {
  return static_cast<std::size_t>(i);
}

// `count` blocks, block k = block(k), computed on every core.
[[nodiscard]] Blocks parallel_blocks(std::size_t count,
                                     const std::function<Matrix(std::size_t k)>& block);
// One block per batch b and head h (index b·heads + h): block(b, h).
[[nodiscard]] Blocks per_head(const Sizes& n, const std::function<Matrix(Index b, Index h)>& block);
// f of each block of `from`.
[[nodiscard]] Blocks each(const Blocks& from, const std::function<Matrix(const Matrix&)>& f);

// The nodes the stage that computes `node` reads, in this trace (Flow::source): scores reads Q_h
// and K_h (or Q and K, with one head) … X reads none.
[[nodiscard]] std::vector<Node> inputs_of(Node node, const Flow& flow);

// The node as its stage computes it from the flow's current tensors.
[[nodiscard]] Blocks compute(Node node, const Flow& flow);

// Recomputes every node the trace has from `first` to `last`, in order, into `flow`: the learner's
// own value where `own` has one (except at `last`, which is always computed), else `change`'s,
// else the stage's math.
void run(Flow& flow, Node first, Node last, const Override& change, const Own& own);

// The blocks one after another: the tensor's numbers, row-major.
[[nodiscard]] std::vector<double> flatten(const Blocks& blocks);

}  // namespace attn_trace::replay
