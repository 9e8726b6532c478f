// A learner's tensors against the trace (check.hpp): compare each, find the first that differs,
// mark what follows from it, and find the mistakes that reproduce it.
#include "attn_trace/teach/check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

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

TensorCheck compare(const ResolvedTensor& r, const Tolerance& tolerance) {
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
  Blocks blocks;
  if (shaped.rank() >= 2) {
    for (std::size_t i = 0; i < shaped.block_count(); ++i) blocks.emplace_back(shaped.block(i));
  }
  return blocks;
}

bool all_agree(const std::vector<double>& yours, const std::vector<double>& expected,
               const Tolerance& tolerance) {
  if (yours.size() != expected.size()) return false;
  for (std::size_t i = 0; i < yours.size(); ++i) {
    if (!agree(yours[i], expected[i], tolerance)) return false;
  }
  return true;
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

// Later differing tensors that the stage's math gives from the learner's own earlier tensors.
void mark_following(CheckReport& report, Flow& flow, const Learner& learner,
                    const std::vector<ResolvedTensor>& resolved, const Tolerance& tolerance) {
  const std::size_t first = *report.first_difference;
  const auto first_node = learner.nodes[first];
  if (!first_node) return;
  for (std::size_t k = first + 1; k < report.tensors.size(); ++k) {
    TensorCheck& check = report.tensors[k];
    const auto node = learner.nodes[k];
    if (check.match() || !node || *node < *first_node) continue;
    flow.reset();
    replay::run(flow, *first_node, *node, {},
                [&](Node n) { return n < *node ? learner.find(n) : nullptr; });
    if (!all_agree(resolved[k].given->values, replay::flatten(flow[*node]), tolerance)) continue;
    // The root: the nearest earlier differing tensor, or what that one follows from.
    for (std::size_t j = k; j-- > first;) {
      if (report.tensors[j].match()) continue;
      check.follows_from = report.tensors[j].follows_from.value_or(j);
      break;
    }
  }
}

// The mistakes that, run from the trace's correct tensors, give the learner's first differing
// tensor and every tensor they gave on the way to it.
void diagnose(CheckReport& report, Flow& flow, const Learner& learner,
              const std::vector<ResolvedTensor>& resolved, const Tolerance& tolerance) {
  const std::size_t first = *report.first_difference;
  const auto target = learner.nodes[first];
  if (!target) return;
  flow.reset();
  const std::vector<double> right = replay::flatten(flow[*target]);
  for (const replay::Mistake& mistake : replay::mistakes_for(flow, learner.find(Node::masked))) {
    if (mistake.first > *target) continue;
    const bool known = std::any_of(report.diagnosis.begin(), report.diagnosis.end(),
                                   [&](const Diagnosis& d) { return d.id == mistake.id; });
    if (known) continue;
    flow.reset();
    replay::run(flow, mistake.first, *target, mistake.change, {});
    const std::vector<double> mistaken = replay::flatten(flow[*target]);
    if (all_agree(mistaken, right, tolerance)) continue;  // changes nothing here
    bool reproduces = true;
    for (std::size_t k = 0; k <= first && reproduces; ++k) {
      const auto node = learner.nodes[k];
      if (!node || *node < mistake.first || !flow.has(*node)) continue;
      reproduces = all_agree(resolved[k].given->values, replay::flatten(flow[*node]), tolerance);
    }
    if (reproduces) {
      report.diagnosis.push_back({std::string(mistake.id), mistake.stage, mistake.text});
    }
  }
}

}  // namespace

CheckReport check_tensors(const Spec& spec, const Trace& trace, const GivenTensors& given,
                          const CheckOptions& options) {
  const std::vector<ResolvedTensor> resolved = resolve_given(given, trace);
  CheckReport report{.given_file = given.file,
                     .input = options.input,
                     .tolerance = options.tolerance,
                     .tensors = {},
                     .first_difference = std::nullopt,
                     .diagnosis = {},
                     .tokens = trace.tokens,
                     .kv_tokens = trace.kv_tokens};
  Learner learner;
  for (const ResolvedTensor& r : resolved) {
    report.tensors.push_back(compare(r, options.tolerance));
    const auto node = replay::node_at(r.stage->id, r.tensor->name);
    learner.nodes.push_back(node);
    if (node) learner.own.emplace(*node, blocks_of(r));
    if (!report.first_difference && !report.tensors.back().match()) {
      report.first_difference = report.tensors.size() - 1;
    }
  }
  if (!report.first_difference) return report;
  Flow flow(spec, trace);
  mark_following(report, flow, learner, resolved, options.tolerance);
  diagnose(report, flow, learner, resolved, options.tolerance);
  return report;
}

std::vector<std::string_view> mistake_catalogue() {
  return replay::mistake_ids();
}

}  // namespace attn_trace
