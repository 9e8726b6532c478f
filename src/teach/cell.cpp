// Reading explain's CELL: parsing its text, then finding its stage, tensor and position.
#include "cell.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "positions.hpp"

namespace attn_trace {
namespace {

using Found = std::pair<const Stage*, const Tensor*>;

// " (query 3 × key 3)": a tensor's axes and sizes, for a message.
std::string axes_text(const Tensor& t) {
  std::vector<std::string> parts;
  for (std::size_t a = 0; a < t.rank(); ++a) {
    parts.push_back(fmt::format("{} {}", axis_name(t.axes[a]), t.shape[a]));
  }
  return fmt::format(" ({})", fmt::join(parts, " × "));
}

// "unknown tensor 'score' (did you mean 'scores'?); the tensors of this trace: …", or the same for
// a stage that this trace does not have.
[[noreturn]] void unknown(const Trace& trace, const CellRef& ref) {
  std::vector<std::string_view> names;
  for (const Stage& stage : trace.stages) {
    for (const Tensor& t : stage.tensors) {
      if (std::find(names.begin(), names.end(), t.name) == names.end()) names.push_back(t.name);
    }
  }
  const auto suggestion = [](std::optional<std::string_view> near) {
    return near ? fmt::format(" (did you mean '{}'?)", *near) : std::string();
  };
  const std::optional<StageId> named = stage_named(ref.stage);
  if (!ref.stage.empty() && !(named && trace.find_stage(*named))) {
    std::vector<std::string_view> ids;
    for (const Stage& s : trace.stages) ids.emplace_back(stage_name(s.id));
    throw Error(fmt::format("unknown stage '{}'{}; the stages of this trace: {}", cut(ref.stage),
                            suggestion(nearest(ref.stage, ids)), fmt::join(ids, ", ")));
  }
  std::vector<std::string_view> here = names;
  if (!ref.stage.empty()) {
    here.clear();
    for (const Tensor& t : trace.find_stage(*named)->tensors) here.emplace_back(t.name);
  }
  throw Error(fmt::format(
      "unknown tensor '{}'{}{}; {}: {}", cut(ref.tensor),
      ref.stage.empty() ? "" : " in stage " + ref.stage, suggestion(nearest(ref.tensor, here)),
      ref.stage.empty() ? "the tensors of this trace" : "the tensors of " + ref.stage,
      fmt::join(here, ", ")));
}

// The stage and tensor `ref` names.
Found find(const Trace& trace, const CellRef& ref) {
  std::vector<Found> found;
  for (const Stage& stage : trace.stages) {
    for (const Tensor& t : stage.tensors) {
      if (t.name == ref.tensor && (ref.stage.empty() || ref.stage == stage_name(stage.id))) {
        found.emplace_back(&stage, &t);
      }
    }
  }
  if (found.empty()) unknown(trace, ref);
  if (found.size() == 1) return found.front();
  // The number of indices tells Q (L, D) of projections from Q (H, L, d) of split_heads.
  std::vector<Found> fitting;
  for (const Found& f : found) {
    if (f.second->rank() == ref.index.size()) fitting.push_back(f);
  }
  if (fitting.size() == 1) return fitting.front();
  std::vector<std::string> choices;
  for (const auto& [stage, t] : found) {
    choices.push_back(fmt::format("{}.{}{}", stage_name(stage->id), t->name, axes_text(*t)));
  }
  throw Error(fmt::format("'{}' is in {} stages: {}; name the stage, as in {}.{}[…]",
                          cut(ref.tensor), found.size(), fmt::join(choices, ", "),
                          stage_name(found.front().first->id), ref.tensor));
}

// Token labels of an axis for batch b, or none for an axis of numbers.
const std::vector<std::string>* labels(const Trace& trace, Axis axis, std::size_t b) {
  if (axis != Axis::query && axis != Axis::key) return nullptr;
  const auto& lists = axis == Axis::query ? trace.tokens : trace.kv_tokens;
  return &lists[std::min(b, lists.size() - 1)];
}

// "-1" or a number beyond size_t: a position out of range, unless some token is spelled so.
bool looks_numeric(std::string_view typed) {
  const std::size_t sign = typed.starts_with('-') ? 1 : 0;
  return typed.size() > sign && typed.find_first_not_of("0123456789", sign) == std::string::npos;
}

// The position `typed` names along axis `a` of `t` (whose token labels are `names`, if any).
std::size_t read_position(const std::string& where, const Tensor& t, std::size_t a,
                          const std::vector<std::string>* names, const std::string& typed) {
  const Axis axis = t.axes[a];
  const std::string valid = valid_positions(t.shape[a], names, ", ", 40);
  const std::optional<std::size_t> number = position_number(typed);
  const std::vector<std::size_t> at =
      names ? token_positions(*names, typed) : std::vector<std::size_t>{};
  if (number || (looks_numeric(typed) && at.empty())) {
    if (number && *number < t.shape[a]) return *number;
    throw Error(fmt::format("{}: index {} of the {} axis is out of range: {}", where,
                            number ? std::to_string(*number) : cut(typed), axis_name(axis), valid));
  }
  if (!names) {
    throw Error(fmt::format("{}: the {} axis takes a number, found '{}': {}", where,
                            axis_name(axis), cut(typed), valid));
  }
  if (at.empty()) {
    const std::vector<std::string_view> views(names->begin(), names->end());
    const auto near = nearest(typed, views);
    throw Error(fmt::format("{}: no {} token '{}'{}: {}", where, axis_name(axis), cut(typed),
                            near ? fmt::format(" (did you mean '{}'?)", *near) : "", valid));
  }
  if (at.size() > 1) {
    throw Error(fmt::format("{}: the {} token '{}' stands at {}: give its position", where,
                            axis_name(axis), cut(typed), fmt::join(at, " and ")));
  }
  return at.front();
}

}  // namespace

std::string cut(std::string_view text) {
  return excerpt(text, 40);
}

Cell locate(const Trace& trace, const CellRef& ref) {
  // Not a structured binding: the lambda below captures the tensor (clang 14 cannot capture one).
  const Found found = find(trace, ref);
  const Stage* stage = found.first;
  const Tensor* t = found.second;
  const std::string where = fmt::format("{}.{}", stage_name(stage->id), t->name);
  if (ref.index.size() != t->rank()) {
    std::vector<std::string> zeros(t->rank(), "0");
    throw Error(fmt::format("{} has {} {}{}, found {}", where, t->rank(),
                            noun(t->rank(), "index", "indices"), axes_text(*t), ref.index.size()),
                fmt::format("for example {}[{}]", where, fmt::join(zeros, ",")));
  }
  Cell cell{stage, t, std::vector<std::size_t>(t->rank()), std::vector<std::string>(t->rank())};
  // The batch axis first: it decides which token list names the others.
  std::vector<std::size_t> order(t->rank());
  for (std::size_t a = 0; a < t->rank(); ++a) order[a] = a;
  std::stable_partition(order.begin(), order.end(),
                        [&](std::size_t a) { return t->axes[a] == Axis::batch; });
  std::size_t batch = 0;
  for (std::size_t a : order) {
    const std::vector<std::string>* names = labels(trace, t->axes[a], batch);
    const std::size_t v = read_position(where, *t, a, names, ref.index[a]);
    cell.index[a] = v;
    cell.labels[a] = names ? (*names)[v] : std::to_string(v);
    if (t->axes[a] == Axis::batch) batch = v;
  }
  return cell;
}

CellRef parse_cell(std::string_view text) {
  const auto bad = [&](std::string_view why) -> Error {
    return Error(fmt::format("CELL '{}': {}", cut(text), why),
                 "write TENSOR[I,J,…] or STAGE.TENSOR[I,J,…], e.g. scores[0,2], "
                 "weights[am,good], split_heads.Q[1,0,1]");
  };
  const std::size_t open = text.find('[');
  if (open == std::string_view::npos || !text.ends_with(']')) {
    throw bad("expected an index in brackets at the end");
  }
  CellRef cell;
  const std::string_view name = text.substr(0, open);
  if (const std::size_t dot = name.find('.'); dot != std::string_view::npos) {
    cell.stage = std::string(name.substr(0, dot));
    cell.tensor = std::string(name.substr(dot + 1));
    if (cell.stage.empty()) throw bad("no stage name before the .");
  } else {
    cell.tensor = std::string(name);
  }
  if (cell.tensor.empty()) throw bad("no tensor name before the [");
  const std::string_view inside = text.substr(open + 1, text.size() - open - 2);
  if (inside.find_first_of("[]") != std::string_view::npos) {
    throw bad(
        "one pair of brackets, with the indices separated by commas: scores[0,1], not "
        "scores[0][1]");
  }
  for (std::size_t from = 0;;) {
    const std::size_t comma = inside.find(',', from);
    const std::string part =
        trim(inside.substr(from, comma == std::string_view::npos ? inside.npos : comma - from));
    if (part.empty()) throw bad("an empty index");
    cell.index.push_back(part);
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  return cell;
}

}  // namespace attn_trace
