// Replaying attention from a trace's tensors (replay.hpp): each node computed by the stage math of
// core/stages.hpp, block by block, exactly as the tracer computes it.
#include "replay.hpp"

#include <cassert>
#include <exception>

#include "attn_trace/core/stages.hpp"

namespace attn_trace::replay {
namespace {

constexpr std::size_t at(Node node) {
  return static_cast<std::size_t>(node);
}

constexpr std::array<Place, node_count> places = {{
    {StageId::input, "X"},
    {StageId::projections, "Q"},
    {StageId::projections, "K"},
    {StageId::projections, "V"},
    {StageId::extra_keys, "K"},
    {StageId::extra_keys, "V"},
    {StageId::split_heads, "Q"},
    {StageId::split_heads, "K"},
    {StageId::split_heads, "V"},
    {StageId::scores, "scores"},
    {StageId::scaling, "scaled"},
    {StageId::masking, "masked"},
    {StageId::softmax, "weights"},
    {StageId::weighted_values, "weighted"},
    {StageId::summation, "context"},
    {StageId::merge_heads, "context"},
    {StageId::out_proj, "output"},
}};

const Tensor* find_tensor(const Trace& trace, StageId id, std::string_view name) {
  const Stage* stage = trace.find_stage(id);
  if (!stage) return nullptr;
  for (const Tensor& tensor : stage->tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

}  // namespace

Blocks parallel_blocks(std::size_t count, const std::function<Matrix(std::size_t k)>& block) {
  Blocks blocks(count);
  // The blocks are independent: compute them on every core. An exception (out of memory) must
  // not leave the parallel loop, so it is carried out and rethrown.
  std::exception_ptr failure;
  const auto n = static_cast<std::ptrdiff_t>(count);
#pragma omp parallel for schedule(dynamic)
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    try {
      blocks[static_cast<std::size_t>(k)] = block(static_cast<std::size_t>(k));
    } catch (...) {
#pragma omp critical
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return blocks;
}

Blocks per_head(const Sizes& n, const std::function<Matrix(Index b, Index h)>& block) {
  return parallel_blocks(count_of(n.B * n.heads), [&](std::size_t k) {
    const auto i = static_cast<Index>(k);
    return block(i / n.heads, i % n.heads);
  });
}

Blocks each(const Blocks& from, const std::function<Matrix(const Matrix&)>& f) {
  return parallel_blocks(from.size(), [&](std::size_t k) { return f(from[k]); });
}

namespace {

Blocks per_batch(const Sizes& n, const std::function<Matrix(Index b)>& block) {
  Blocks blocks;
  blocks.reserve(static_cast<std::size_t>(n.B));
  for (Index b = 0; b < n.B; ++b) blocks.push_back(block(b));
  return blocks;
}

Blocks project_rows(const Flow& flow, const std::optional<Linear>& linear,
                    const std::function<const Matrix&(Index b)>& input) {
  return per_batch(
      flow.n, [&](Index b) -> Matrix { return linear ? project(input(b), *linear) : input(b); });
}

}  // namespace

Blocks blocks_of(const Tensor& tensor) {
  Blocks blocks;
  blocks.reserve(tensor.block_count());
  for (std::size_t i = 0; i < tensor.block_count(); ++i) blocks.emplace_back(tensor.block(i));
  return blocks;
}

Place place_of(Node node) {
  return places[at(node)];
}

std::optional<Node> node_at(StageId stage, std::string_view tensor) {
  for (std::size_t i = 0; i < node_count; ++i) {
    if (places[i].stage == stage && places[i].tensor == tensor) return static_cast<Node>(i);
  }
  return std::nullopt;
}

Flow::Flow(const Spec& s, const Trace& trace)
    : spec(s),
      n{.B = trace.config.batch.value_or(1),
        .H = trace.config.num_heads,
        .heads = trace.config.num_heads > 1 ? trace.config.num_heads : 1,
        .L = trace.config.q_len,
        .S = trace.config.kv_len,
        .D = trace.config.model_dim,
        .d = trace.config.head_dim} {
  for (std::size_t i = 0; i < node_count; ++i) {
    const Tensor* tensor = find_tensor(trace, places[i].stage, places[i].tensor);
    has_[i] = tensor && !tensor->generated();
    if (has_[i]) trace_[i] = blocks_of(*tensor);
  }
  if (const Tensor* additive = find_tensor(trace, StageId::masking, "additive_mask")) {
    additive_ = blocks_of(*additive);
  }
}

const Blocks& Flow::operator[](Node node) const {
  assert(has(node));
  const auto& changed = changed_[at(node)];
  return changed ? *changed : trace_[at(node)];
}

void Flow::reset() {
  for (auto& changed : changed_) changed.reset();
}

Node Flow::source(Node node) const {
  switch (node) {
    case Node::K_ext:
      return has(Node::K_ext) ? Node::K_ext : Node::K;
    case Node::V_ext:
      return has(Node::V_ext) ? Node::V_ext : Node::V;
    case Node::Q_h:
      return has(Node::Q_h) ? Node::Q_h : Node::Q;
    case Node::K_h:
      return has(Node::K_h) ? Node::K_h : source(Node::K_ext);
    case Node::V_h:
      return has(Node::V_h) ? Node::V_h : source(Node::V_ext);
    case Node::masked:
      return has(Node::masked) ? Node::masked : Node::scaled;
    case Node::context:
      return has(Node::context) ? Node::context : Node::context_h;
    default:
      return node;
  }
}

std::vector<Node> inputs_of(Node node, const Flow& flow) {
  switch (node) {
    case Node::X:
      return {};
    case Node::Q:
    case Node::K:
    case Node::V:
      return {Node::X};
    case Node::K_ext:
      return {Node::K};
    case Node::V_ext:
      return {Node::V};
    case Node::Q_h:
      return {Node::Q};
    case Node::K_h:
      return {flow.source(Node::K_ext)};
    case Node::V_h:
      return {flow.source(Node::V_ext)};
    case Node::scores:
      return {flow.source(Node::Q_h), flow.source(Node::K_h)};
    case Node::scaled:
      return {Node::scores};
    case Node::masked:
      return {Node::scaled};
    case Node::weights:
      return {flow.source(Node::masked)};
    case Node::weighted:
    case Node::context_h:
      return {Node::weights, flow.source(Node::V_h)};
    case Node::context:
      return {Node::context_h};
    case Node::output:
      return {flow.source(Node::context)};
  }
  return {};
}

Blocks compute(Node node, const Flow& flow) {
  const Spec& spec = flow.spec;
  const Sizes& n = flow.n;
  const auto self = [&](Index b) -> const Matrix& { return flow[Node::X][count_of(b)]; };
  switch (node) {
    case Node::X:
      return flow[Node::X];
    case Node::Q:
      return project_rows(flow, spec.q_proj, self);
    case Node::K:
      return project_rows(flow, spec.k_proj, [&](Index b) -> const Matrix& {
        return spec.key_source == KeySource::self ? self(b) : spec.key_input(b);
      });
    case Node::V:
      return project_rows(flow, spec.v_proj, [&](Index b) -> const Matrix& {
        return spec.key_source == KeySource::self ? self(b) : spec.value_input(b);
      });
    case Node::K_ext:
    case Node::V_ext: {
      const bool keys = node == Node::K_ext;
      const Blocks& given = flow[keys ? Node::K : Node::V];
      return each(given, [&](const Matrix& m) {
        return append_keys(m, keys ? spec.bias_k : spec.bias_v, spec.add_zero_attn);
      });
    }
    case Node::Q_h:
    case Node::K_h:
    case Node::V_h: {
      const Node whole = node == Node::Q_h   ? Node::Q
                         : node == Node::K_h ? flow.source(Node::K_ext)
                                             : flow.source(Node::V_ext);
      return per_head(
          n, [&](Index b, Index h) { return head_slice(flow[whole][count_of(b)], h, n.d); });
    }
    case Node::scores: {
      const Blocks& k = flow[flow.source(Node::K_h)];
      const Blocks& q = flow[flow.source(Node::Q_h)];
      return parallel_blocks(q.size(), [&](std::size_t i) { return attention_scores(q[i], k[i]); });
    }
    case Node::scaled:
      return each(flow[Node::scores],
                  [&](const Matrix& m) { return scale_scores(m, spec.scale()); });
    case Node::masked: {
      const Blocks& scaled = flow[Node::scaled];
      return parallel_blocks(
          scaled.size(), [&](std::size_t i) { return mask_scores(scaled[i], flow.additive()[i]); });
    }
    case Node::weights:
      return each(flow[flow.source(Node::masked)], [](const Matrix& m) { return softmax_rows(m); });
    case Node::weighted: {
      const Blocks& weights = flow[Node::weights];
      const Blocks& v = flow[flow.source(Node::V_h)];
      Blocks blocks;
      for (std::size_t i = 0; i < weights.size(); ++i) {
        for (Index q = 0; q < weights[i].rows(); ++q) {
          blocks.push_back(weighted_values(weights[i].row(q), v[i]));
        }
      }
      return blocks;
    }
    case Node::context_h: {
      const Blocks& weights = flow[Node::weights];
      const Blocks& v = flow[flow.source(Node::V_h)];
      return parallel_blocks(weights.size(),
                             [&](std::size_t i) { return weighted_sum(weights[i], v[i]); });
    }
    case Node::context:
      return per_batch(n, [&](Index b) {
        std::vector<Matrix> heads;
        for (Index h = 0; h < n.heads; ++h) {
          heads.push_back(flow[Node::context_h][count_of(b * n.heads + h)]);
        }
        return merge_heads(heads);
      });
    case Node::output:
      return project_rows(flow, spec.out_proj, [&](Index b) -> const Matrix& {
        return flow[flow.source(Node::context)][count_of(b)];
      });
  }
  return {};
}

void run(Flow& flow, Node first, Node last, const Override& change, const Own& own) {
  for (std::size_t i = at(first); i <= at(last); ++i) {
    const auto node = static_cast<Node>(i);
    if (!flow.has(node)) continue;
    if (const Blocks* mine = own && node != last ? own(node) : nullptr) {
      flow.set(node, *mine);
    } else if (auto changed = change ? change(node, flow) : std::nullopt) {
      flow.set(node, std::move(*changed));
    } else {
      flow.set(node, compute(node, flow));
    }
  }
}

std::vector<double> flatten(const Blocks& blocks) {
  std::vector<double> values;
  for (const Matrix& m : blocks) values.insert(values.end(), m.data(), m.data() + m.size());
  return values;
}

}  // namespace attn_trace::replay
