// Finding a learner's arrays in the trace (given_names.hpp).
#include "given_names.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/teach/check.hpp"

namespace attn_trace {
namespace {

// The names in learners' code (the seeds, PyTorch's own, The Annotated Transformer's, Hugging
// Face's), each for the trace tensor it holds. Compared ignoring case.
constexpr GivenAlias aliases[] = {
    {"x", "X"},
    {"input", "X"},
    {"inputs", "X"},
    {"embeddings", "X"},
    {"hidden_states", "X"},
    {"q", "Q"},
    {"query", "Q"},
    {"queries", "Q"},
    {"k", "K"},
    {"key", "K"},
    {"keys", "K"},
    {"v", "V"},
    {"value", "V"},
    {"values", "V"},
    {"q_heads", "split_heads.Q"},
    {"k_heads", "split_heads.K"},
    {"v_heads", "split_heads.V"},
    {"attn_scores", "scores"},
    {"attention_scores", "scores"},
    {"raw_scores", "scores"},
    {"logits", "scores"},
    {"energy", "scores"},
    {"qk", "scores"},
    {"scaled_scores", "scaled"},
    {"scaled_logits", "scaled"},
    {"masked_scores", "masked"},
    {"masked_logits", "masked"},
    {"attn_weights", "weights"},
    {"attn_output_weights", "weights"},
    {"attention_weights", "weights"},
    {"attention", "weights"},
    {"attn", "weights"},
    {"attn_probs", "weights"},
    {"attention_probs", "weights"},
    {"probs", "weights"},
    {"p_attn", "weights"},
    {"softmax", "weights"},
    {"weighted_values", "weighted"},
    {"ctx", "context"},
    {"context_layer", "context"},
    {"head_outputs", "summation.context"},
    {"heads", "summation.context"},
    {"concat", "merge_heads.context"},
    {"merged", "merge_heads.context"},
    {"attn_output", "output"},
    {"attention_output", "output"},
    {"out", "output"},
    {"y", "output"},
};

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

bool same_name(std::string_view a, std::string_view b) {
  return lower(a) == lower(b);
}

std::vector<std::size_t> squeezed(const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> result;
  for (std::size_t n : shape) {
    if (n != 1) result.push_back(n);
  }
  return result;
}

// The learner's array holds the tensor's numbers in its order: the same shape with axes of size 1
// added or left out, or (for Q, K, V and the merged context, with heads) the last axis D written
// as (H, d), as q.view(B, L, H, d) leaves it before the transpose.
bool fits(const std::vector<std::size_t>& given, const Tensor& tensor, const Trace& trace,
          bool as_heads_view) {
  const auto mine = squeezed(given);
  if (!as_heads_view) return mine == squeezed(tensor.shape);
  const Index H = trace.config.num_heads;
  if (H > 1 && tensor.axes.back() == Axis::feature &&
      tensor.shape.back() == static_cast<std::size_t>(trace.config.model_dim) &&
      tensor.axes.size() >= 2 && tensor.axes[tensor.axes.size() - 2] != Axis::head) {
    std::vector<std::size_t> split = tensor.shape;
    split.back() = static_cast<std::size_t>(H);
    split.push_back(static_cast<std::size_t>(trace.config.head_dim));
    return mine == squeezed(split);
  }
  return false;
}

bool transposed(const std::vector<std::size_t>& given, const Tensor& tensor) {
  if (tensor.rank() < 2) return false;
  std::vector<std::size_t> swapped = tensor.shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  return squeezed(given) == squeezed(swapped) && squeezed(swapped) != squeezed(tensor.shape);
}

std::string axes_text(const Tensor& tensor) {
  std::vector<std::string_view> names;
  for (Axis axis : tensor.axes) names.push_back(axis_name(axis));
  return fmt::format("{}", fmt::join(names, ", "));
}

// Every name the learner could have meant: the aliases, the trace's tensor names, and STAGE.TENSOR.
std::vector<std::string> known_names(const Trace& trace) {
  std::vector<std::string> names;
  for (const GivenAlias& alias : aliases) names.emplace_back(alias.name);
  for (const Stage& stage : trace.stages) {
    for (const Tensor& tensor : stage.tensors) {
      names.push_back(tensor.name);
      names.push_back(fmt::format("{}.{}", stage_name(stage.id), tensor.name));
    }
  }
  return names;
}

// The trace tensor a name means, written as the trace writes it: "weights", "split_heads.Q".
std::string trace_name_of(std::string_view name) {
  for (const GivenAlias& alias : aliases) {
    if (same_name(alias.name, name)) return std::string(alias.tensor);
  }
  return std::string(name);
}

// The tensors of `trace` called `name` ("Q": in projections and split_heads), in paper order.
std::vector<ResolvedTensor> candidates(const Trace& trace, std::string_view name,
                                       std::optional<StageId> stage) {
  std::vector<ResolvedTensor> found;
  for (std::size_t s = 0; s < trace.stages.size(); ++s) {
    const Stage& st = trace.stages[s];
    if (stage && st.id != *stage) continue;
    for (std::size_t t = 0; t < st.tensors.size(); ++t) {
      if (same_name(st.tensors[t].name, name))
        found.push_back({nullptr, &st, &st.tensors[t], s, t});
    }
  }
  return found;
}

// Why `trace` has no tensor `name`: its stage was left out (and why), or there is no such name.
[[noreturn]] void no_such_tensor(const GivenTensors& given, const GivenTensor& g,
                                 std::string_view name, std::optional<StageId> stage,
                                 const Trace& trace) {
  for (const SkippedStage& skipped : trace.skipped) {
    const bool named = stage ? skipped.id == *stage : false;
    const bool holds = (same_name(name, "masked") && skipped.id == StageId::masking) ||
                       (same_name(name, "output") && skipped.id == StageId::out_proj) ||
                       (same_name(name, "weighted") && skipped.id == StageId::weighted_values);
    if (named || holds) {
      throw Error(fmt::format("{}: {}: this trace has no {} stage: {}", given.file, g.name,
                              stage_name(skipped.id), skipped.reason),
                  "leave it out of the file, or trace an input that has that stage");
    }
  }
  const std::vector<std::string> names = known_names(trace);
  std::vector<std::string_view> views(names.begin(), names.end());
  const auto near = nearest(g.name, views);
  throw Error(
      fmt::format("{}: {}: no tensor of the trace has this name", given.file, g.name),
      near ? fmt::format("did you mean {}? docs/check.md lists the names", *near)
           : "name each array as the trace does (Q, K, V, scores, scaled, masked, weights, "
             "context, output, or STAGE.TENSOR such as split_heads.Q) or as docs/check.md lists");
}

ResolvedTensor resolve_one(const GivenTensors& given, const GivenTensor& g, const Trace& trace) {
  const std::string meant = trace_name_of(g.name);
  std::optional<StageId> stage;
  std::string name = meant;
  if (const auto dot = meant.find('.'); dot != std::string::npos) {
    const std::string stage_text = meant.substr(0, dot);
    name = meant.substr(dot + 1);
    stage = stage_named(lower(stage_text));
    if (!stage) {
      const auto near = nearest(stage_text, stage_names());
      throw Error(fmt::format("{}: {}: there is no stage {}", given.file, g.name, stage_text),
                  near ? fmt::format("did you mean {}.{}?", *near, name)
                       : fmt::format("the stages are {}", fmt::join(stage_names(), ", ")));
    }
  }
  // With one head, the heads split are Q, K and V themselves, and merged the context itself.
  if (stage && !trace.find_stage(*stage) && trace.config.num_heads == 1) {
    if (*stage == StageId::split_heads) stage = StageId::projections;
    if (*stage == StageId::merge_heads) stage = StageId::summation;
  }
  std::vector<ResolvedTensor> found = candidates(trace, name, stage);
  // Without out_proj, the tutorials call the context the output.
  if (found.empty() && !stage && name == "output" && !trace.find_stage(StageId::out_proj)) {
    found = candidates(trace, "context", std::nullopt);
    if (found.size() > 1) found.erase(found.begin(), found.end() - 1);
  }
  if (found.empty()) no_such_tensor(given, g, name, stage, trace);
  // The shape itself first: with as many heads as queries, (L, H, d) is also (H, L, d).
  for (int pass = 0; pass < 2; ++pass) {
    for (ResolvedTensor& r : found) {
      if (!fits(g.shape, *r.tensor, trace, pass == 1)) continue;
      if (r.tensor->generated()) {
        throw Error(fmt::format("{}: {}: the trace's {} has {} numbers, too many to hold, so it "
                                "cannot be compared",
                                given.file, g.name, r.tensor->name, r.tensor->size()),
                    "leave it out: the context (its sum over the keys) checks the same numbers");
      }
      r.given = &g;
      return r;
    }
  }
  std::vector<std::string> shapes;
  for (const ResolvedTensor& r : found) {
    shapes.push_back(fmt::format("{}.{} {} ({})", stage_name(r.stage->id), r.tensor->name,
                                 shape_text(r.tensor->shape), axes_text(*r.tensor)));
  }
  const Tensor& first = *found.front().tensor;
  throw Error(
      fmt::format("{}: {}: expected the shape of {}, found {}", given.file, g.name,
                  fmt::join(shapes, " or "), shape_text(g.shape)),
      transposed(g.shape, first)
          ? fmt::format("it looks transposed: save {0} itself, not {0}.T (or .transpose(-2, -1))",
                        g.name)
          : "axes of size 1 may be added or left out (a batch of one, a single head); any "
            "other shape holds other numbers");
}

}  // namespace

std::span<const GivenAlias> given_aliases() {
  return aliases;
}

std::vector<ResolvedTensor> resolve_given(const GivenTensors& given, const Trace& trace) {
  std::vector<ResolvedTensor> resolved;
  std::map<const Tensor*, const GivenTensor*> seen;
  for (const GivenTensor& g : given.tensors) {
    ResolvedTensor r = resolve_one(given, g, trace);
    if (auto [it, fresh] = seen.emplace(r.tensor, &g); !fresh) {
      throw Error(fmt::format("{}: {} and {} are both the trace's {}.{}", given.file,
                              it->second->name, g.name, stage_name(r.stage->id), r.tensor->name),
                  "give each tensor once");
    }
    resolved.push_back(r);
  }
  std::stable_sort(resolved.begin(), resolved.end(), [](const auto& a, const auto& b) {
    return std::pair(a.stage_index, a.tensor_index) < std::pair(b.stage_index, b.tensor_index);
  });
  return resolved;
}

}  // namespace attn_trace
