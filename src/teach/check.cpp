// A learner's tensors against the trace (check.hpp): compare each, find the first that differs,
// mark what follows from it, and find the mistakes that reproduce it.
#include "attn_trace/teach/check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "given_names.hpp"
#include "mistakes.hpp"
#include "replay.hpp"

namespace attn_trace {
namespace {

using replay::Blocks;
using replay::Flow;
using replay::Node;

constexpr std::size_t worst_shown = 5;

// How far apart two numbers are, for ranking the worst cells: a nan or an infinity that the other
// does not share is the worst of all.
double distance(double yours, double expected) {
  if (std::isfinite(yours) && std::isfinite(expected)) return std::abs(yours - expected);
  return std::numeric_limits<double>::infinity();
}

// The tolerance for comparing with these numbers (core/check.hpp: for_tensor).
Tolerance scaled_to(const Tolerance& tolerance, std::span<const double> expected) {
  const std::span<const double> parts[] = {expected};
  return for_tensor(tolerance, finite_rms(parts));
}

Tolerance scaled_to(const Tolerance& tolerance, const Blocks& expected) {
  std::vector<std::span<const double>> parts;
  for (const Matrix& m : expected) parts.emplace_back(m.data(), static_cast<std::size_t>(m.size()));
  return for_tensor(tolerance, finite_rms(parts));
}

TensorCheck compare(const ResolvedTensor& r, const Tolerance& base) {
  const Tolerance tolerance = scaled_to(base, r.tensor->data);
  const Tensor& tensor = *r.tensor;
  const std::vector<double>& yours = r.given->values;
  TensorCheck check{.given_name = r.given->name,
                    .stage = r.stage->id,
                    .tensor = tensor.name,
                    .axes = tensor.axes,
                    .shape = tensor.shape,
                    .cells = yours.size()};
  std::vector<std::pair<double, std::size_t>> differing;
  for (std::size_t i = 0; i < yours.size(); ++i) {
    const double expected = tensor.data[i];
    if (std::isfinite(yours[i]) && std::isfinite(expected)) {
      const double error = std::abs(yours[i] - expected);
      check.max_abs_error = std::max(check.max_abs_error, error);
      if (expected != 0) {
        check.max_rel_error = std::max(check.max_rel_error, error / std::abs(expected));
      }
    }
    if (!agree(yours[i], expected, tolerance))
      differing.emplace_back(distance(yours[i], expected), i);
  }
  check.cells_differ = differing.size();
  const auto shown = std::min(worst_shown, differing.size());
  std::partial_sort(differing.begin(), differing.begin() + static_cast<std::ptrdiff_t>(shown),
                    differing.end(), [](const auto& a, const auto& b) {
                      return a.first > b.first || (a.first == b.first && a.second < b.second);
                    });
  for (std::size_t k = 0; k < shown; ++k) {
    const std::size_t i = differing[k].second;
    check.worst.push_back({index_of(i, tensor.shape), yours[i], tensor.data[i]});
  }
  return check;
}

// The learner's array as the node's blocks (the trace's shape and order).
Blocks blocks_of(const ResolvedTensor& r) {
  Tensor shaped = *r.tensor;
  shaped.data = r.given->values;
  return replay::blocks_of(shaped);
}

// Every number of `yours` agrees with the blocks' (one after another, as the tensor holds them).
// Every number of `yours` agrees with the blocks' (one after another, as the tensor holds them),
// within the tolerance for `scale`'s numbers (the trace's own tensor, by default `expected`).
bool agree_all(const std::vector<double>& yours, const Blocks& expected, const Tolerance& base,
               const Blocks& scale) {
  const Tolerance tolerance = scaled_to(base, scale);
  std::size_t i = 0;
  for (const Matrix& m : expected) {
    if (i + static_cast<std::size_t>(m.size()) > yours.size()) return false;
    for (Index k = 0; k < m.size(); ++k) {
      if (!agree(yours[i++], m.data()[k], tolerance)) return false;
    }
  }
  return i == yours.size();
}

bool agree_all(const Blocks& yours, const Blocks& expected, const Tolerance& base) {
  if (yours.size() != expected.size()) return false;
  const Tolerance tolerance = scaled_to(base, expected);
  for (std::size_t b = 0; b < yours.size(); ++b) {
    if (yours[b].size() != expected[b].size()) return false;
    for (Index k = 0; k < yours[b].size(); ++k) {
      if (!agree(yours[b].data()[k], expected[b].data()[k], tolerance)) return false;
    }
  }
  return true;
}

bool same_numbers(const std::vector<double>& yours, const Tensor& tensor, const Tolerance& base) {
  if (tensor.generated() || yours.size() != tensor.data.size()) return false;
  const Tolerance tolerance = scaled_to(base, tensor.data);
  for (std::size_t i = 0; i < yours.size(); ++i) {
    if (!agree(yours[i], tensor.data[i], tolerance)) return false;
  }
  return true;
}

// Scores computed, scaled and masked in one line (scores = q @ k.T / sqrt(d)) are most often
// saved as "scores". When a learner's scores are not the trace's, but are what the scaling (or the
// masking) gives from the learner's own Q and K (the trace's, where they gave none), and those
// were not given under another name, they are compared as what they are, and a note says so:
// naming them so is no mistake.
void take_fused_scores(std::vector<ResolvedTensor>& resolved, const Spec& spec, const Trace& trace,
                       const Tolerance& tolerance, std::vector<std::string>& notes) {
  const auto given = [&](const Tensor* t) {
    return std::any_of(resolved.begin(), resolved.end(),
                       [&](const ResolvedTensor& r) { return r.tensor == t; });
  };
  std::optional<Flow> flow;  // made only when needed: it holds a copy of the trace
  for (ResolvedTensor& r : resolved) {
    if (r.stage->id != StageId::scores && r.stage->id != StageId::scaling) continue;
    if (same_numbers(r.given->values, *r.tensor, tolerance)) continue;
    if (!flow) {
      flow.emplace(spec, trace);
      std::map<Node, Blocks> own;
      for (const ResolvedTensor& earlier : resolved) {
        const auto node = replay::node_at(earlier.stage->id, earlier.tensor->name);
        if (node && *node < Node::scores) own.emplace(*node, blocks_of(earlier));
      }
      replay::run(*flow, Node::Q, Node::masked, {}, [&](Node n) -> const Blocks* {
        const auto it = own.find(n);
        return it == own.end() ? nullptr : &it->second;
      });
    }
    const auto node = replay::node_at(r.stage->id, r.tensor->name);
    if (agree_all(r.given->values, (*flow)[*node], tolerance, flow->traced(*node))) continue;
    for (std::size_t s = r.stage_index + 1; s < trace.stages.size(); ++s) {
      const Stage& later = trace.stages[s];
      if (later.id != StageId::scaling && later.id != StageId::masking) continue;
      const Tensor& tensor = later.tensors.back();  // scaled, masked
      const Node later_node = later.id == StageId::scaling ? Node::scaled : Node::masked;
      if (tensor.shape != r.tensor->shape || given(&tensor)) continue;
      if (!agree_all(r.given->values, (*flow)[later_node], tolerance, flow->traced(later_node))) {
        continue;
      }
      notes.push_back(fmt::format(
          "Your {} are the {} scores (computed in one line, as many implementations do), so "
          "they were compared with the trace's {}.{}.",
          r.given->name, later.id == StageId::scaling ? "scaled" : "scaled and masked",
          stage_name(later.id), tensor.name));
      r.stage = &later;
      r.tensor = &tensor;
      r.stage_index = s;
      r.tensor_index = later.tensors.size() - 1;
      break;
    }
  }
  std::stable_sort(resolved.begin(), resolved.end(), [](const auto& a, const auto& b) {
    return std::pair(a.stage_index, a.tensor_index) < std::pair(b.stage_index, b.tensor_index);
  });
}

// The trace's STAGE.TENSOR, other than the one it was compared with, whose numbers the learner's
// are: scores saved after scaling, weights saved before the softmax.
std::optional<std::string> same_numbers_as(const ResolvedTensor& r, const Trace& trace,
                                           const Tolerance& tolerance) {
  for (const Stage& stage : trace.stages) {
    for (const Tensor& tensor : stage.tensors) {
      if (&tensor == r.tensor || tensor.shape != r.tensor->shape) continue;
      if (same_numbers(r.given->values, tensor, tolerance)) {
        return fmt::format("{}.{}", stage_name(stage.id), tensor.name);
      }
    }
  }
  return std::nullopt;
}

// What the replays need of the learner's tensors: their nodes, and their blocks.
struct Learner {
  std::vector<std::optional<Node>> nodes;  // per report tensor
  std::map<Node, Blocks> own;

  const Blocks* find(Node node) const {
    const auto it = own.find(node);
    return it == own.end() ? nullptr : &it->second;
  }
};

// The learner's tensors that differ on their own and that `node`'s value is computed from: at
// each input the stage reads, the learner's tensor there, or (when they gave none) its own inputs'.
std::vector<std::size_t> causes(Node node, const Flow& flow, const CheckReport& report,
                                const std::map<Node, std::size_t>& given_at) {
  std::vector<std::size_t> found;
  for (Node input : replay::inputs_of(node, flow)) {
    std::vector<std::size_t> more;
    if (const auto it = given_at.find(input); it != given_at.end()) {
      const TensorCheck& check = report.tensors[it->second];
      if (check.match()) continue;
      more = check.follows_from.empty() ? std::vector<std::size_t>{it->second} : check.follows_from;
    } else {
      more = causes(input, flow, report, given_at);
    }
    found.insert(found.end(), more.begin(), more.end());
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

// Later differing tensors that the stages' math gives from the learner's own earlier tensors.
void mark_following(CheckReport& report, Flow& flow, const Learner& learner,
                    const std::vector<ResolvedTensor>& resolved, const Tolerance& tolerance,
                    std::size_t root) {
  const Node root_node = *learner.nodes[root];
  std::map<Node, std::size_t> given_at;
  for (std::size_t k = 0; k < report.tensors.size(); ++k) {
    TensorCheck& check = report.tensors[k];
    const auto node = learner.nodes[k];
    if (!node) continue;
    if (k > root && !check.match() && *node > root_node) {
      flow.reset();
      replay::run(flow, root_node, *node, {},
                  [&](Node n) { return n < *node ? learner.find(n) : nullptr; });
      if (agree_all(resolved[k].given->values, flow[*node], tolerance, flow.traced(*node))) {
        check.follows_from = causes(*node, flow, report, given_at);
      }
    }
    given_at.emplace(*node, k);
  }
}

// Whether `mistake`, run from the trace's correct tensors, gives the learner's tensor `first`
// (compared at `target`) and every tensor they gave on the way to it. Node by node, so that a
// mistake is dropped as soon as it disagrees with the learner, or once every node it touched gave
// the trace's own numbers (from there on it changes nothing).
bool reproduces(const replay::Mistake& mistake, Node target, Flow& flow, const Learner& learner,
                const std::vector<ResolvedTensor>& resolved, std::size_t first,
                const Tolerance& tolerance) {
  flow.reset();
  bool changed = false;  // some node so far differs from the trace's
  for (auto i = static_cast<std::size_t>(mistake.first); i <= static_cast<std::size_t>(target);
       ++i) {
    const auto node = static_cast<Node>(i);
    if (!flow.has(node)) continue;
    replay::run(flow, node, node, mistake.change, {});
    const bool differs = !agree_all(flow[node], flow.traced(node), tolerance);
    changed = changed || differs;
    if (!changed && node >= mistake.last) return false;
    for (std::size_t k = 0; k <= first; ++k) {
      const auto at = k == first ? std::optional<Node>(target) : learner.nodes[k];
      if (at == node &&
          !agree_all(resolved[k].given->values, flow[node], tolerance, flow.traced(node))) {
        return false;
      }
    }
  }
  return changed && !agree_all(flow[target], flow.traced(target), tolerance);
}

// The mistakes that reproduce the learner's tensor `root` when it is compared at `target`, one
// variant of each, in paper order.
std::vector<Diagnosis> diagnose_at(Node target, Flow& flow, const Learner& learner,
                                   const std::vector<ResolvedTensor>& resolved, std::size_t root,
                                   const Tolerance& tolerance) {
  std::vector<Diagnosis> found;
  flow.reset();
  // The finite number a learner wrote where the mask blocks is one of mask_not_infinite's.
  const Blocks* masked =
      target == Node::masked ? &learner.own.at(*learner.nodes[root]) : learner.find(Node::masked);
  for (const replay::Mistake& mistake : replay::mistakes_for(flow, masked)) {
    if (mistake.first > target) continue;
    const bool known = std::any_of(found.begin(), found.end(),
                                   [&](const Diagnosis& d) { return d.id == mistake.id; });
    if (known) continue;
    if (reproduces(mistake, target, flow, learner, resolved, root, tolerance)) {
      found.push_back({std::string(mistake.id), mistake.stage, mistake.text, root});
    }
  }
  return found;
}

// The mistakes behind the root difference. Scores computed, scaled and masked in one line and
// saved as "scores" are tried as the scaled and the masked scores too, when no mistake gives
// them as scores.
void diagnose(CheckReport& report, Flow& flow, const Learner& learner,
              const std::vector<ResolvedTensor>& resolved, const Tolerance& tolerance,
              std::size_t root) {
  const Node target = *learner.nodes[root];
  report.diagnosis = diagnose_at(target, flow, learner, resolved, root, tolerance);
  if (!report.diagnosis.empty() || target != Node::scores) return;
  // Who saves the scaled or masked scores under their own name computed them apart.
  const bool apart = std::any_of(learner.nodes.begin(), learner.nodes.end(), [](const auto& n) {
    return n == Node::scaled || n == Node::masked;
  });
  if (apart) return;
  for (Node fused : {Node::scaled, Node::masked}) {
    if (!flow.has(fused)) continue;
    report.diagnosis = diagnose_at(fused, flow, learner, resolved, root, tolerance);
    if (report.diagnosis.empty()) continue;
    report.notes.push_back(fmt::format(
        "Your {} are not Q·Kᵀ: read as the {} scores (computed in one line), they are what the "
        "mistake below gives.",
        resolved[root].given->name, fused == Node::scaled ? "scaled" : "scaled and masked"));
    return;
  }
}

}  // namespace

CheckReport check_tensors(const Spec& spec, const Trace& trace, const GivenTensors& given,
                          const CheckOptions& options) {
  std::vector<ResolvedTensor> resolved = resolve_given(given, trace);
  std::vector<std::string> notes;
  take_fused_scores(resolved, spec, trace, options.tolerance, notes);
  CheckReport report{.given_file = given.file,
                     .input = options.input,
                     .tolerance = options.tolerance,
                     .tensors = {},
                     .first_difference = std::nullopt,
                     .diagnosis = {},
                     .tokens = trace.tokens,
                     .kv_tokens = trace.kv_tokens,
                     .notes = std::move(notes)};
  Learner learner;
  for (const ResolvedTensor& r : resolved) {
    report.tensors.push_back(compare(r, options.tolerance));
    if (!report.tensors.back().match()) {
      report.tensors.back().same_as = same_numbers_as(r, trace, options.tolerance);
    }
    const auto node = replay::node_at(r.stage->id, r.tensor->name);
    learner.nodes.push_back(node);
    if (node) learner.own.emplace(*node, blocks_of(r));
    if (!report.first_difference && !report.tensors.back().match()) {
      report.first_difference = report.tensors.size() - 1;
    }
  }
  if (!report.first_difference) return report;
  // A replay starts from the first difference that a stage computes (not a mask as given).
  std::optional<std::size_t> root;
  for (std::size_t k = *report.first_difference; k < report.tensors.size() && !root; ++k) {
    if (!report.tensors[k].match() && learner.nodes[k]) root = k;
  }
  if (!root) return report;
  Flow flow(spec, trace);
  mark_following(report, flow, learner, resolved, options.tolerance, *root);
  diagnose(report, flow, learner, resolved, options.tolerance, *root);
  return report;
}

std::vector<std::string_view> mistake_catalogue() {
  return replay::mistake_ids();
}

}  // namespace attn_trace
