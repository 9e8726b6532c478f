// run --focus: parse the request, resolve it against the trace, cut every tensor to the slice.
#include "attn_trace/teach/focus.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "positions.hpp"

namespace attn_trace {
namespace {

constexpr std::array<std::string_view, 3> focus_keys = {"head", "query", "batch"};

// A typed value cut for a message.
std::string shown(std::string_view typed) {
  return excerpt(typed, 24);
}

// "valid are 0 to 2 (I · am · good)"
std::string range_text(std::size_t size, const std::vector<std::string>* names) {
  return valid_positions(size, names, " · ", 24);
}

// A head or batch: a number below `count`.
std::size_t resolve_number(const std::string& typed, std::string_view axis, std::size_t count,
                           std::string_view source) {
  const auto v = position_number(typed);
  if (!v || *v >= count) {
    const std::string many = axis == "batch" ? "batches" : std::string(axis) + "s";
    throw Error(fmt::format("{}: --focus {}={}: this trace has {}: {}", source, axis, shown(typed),
                            plural(count, axis, many), range_text(count, nullptr)));
  }
  return *v;
}

// A query: a position (a number is read as one first), or a token that stands once, at the same
// position in every batch searched.
std::size_t resolve_query(const std::string& typed, const Trace& trace,
                          std::optional<std::size_t> batch, std::string_view source) {
  const std::size_t count = trace.tokens.front().size();
  const std::vector<std::string>& first = trace.tokens[batch.value_or(0)];
  const std::string where = fmt::format("{}: --focus query={}", source, shown(typed));
  if (const auto v = position_number(typed)) {
    if (*v >= count) {
      throw Error(fmt::format("{}: this trace has {}: {}", where, plural(count, "query", "queries"),
                              range_text(count, &first)));
    }
    return *v;
  }
  std::optional<std::size_t> found;
  for (std::size_t b = 0; b < trace.tokens.size(); ++b) {
    if (batch && b != *batch) continue;
    const std::vector<std::string>& tokens = trace.tokens[b];
    const std::vector<std::size_t> at = token_positions(tokens, typed);
    const std::string in_batch = trace.tokens.size() > 1 ? fmt::format(" in batch {}", b) : "";
    if (at.empty()) {
      // Say where the token is, when it is somewhere: another batch's query, or a key.
      for (std::size_t other = 0; other < trace.tokens.size(); ++other) {
        const std::vector<std::size_t> there = token_positions(trace.tokens[other], typed);
        if (other != b && !there.empty()) {
          throw Error(fmt::format("{}: '{}' is no query token{}, but one of batch {}", where,
                                  shown(typed), in_batch, other),
                      fmt::format("add batch={} (or give the query's position)", other));
        }
      }
      if (!token_positions(trace.kv_tokens[b], typed).empty()) {
        throw Error(
            fmt::format("{}: '{}' is a key token, not a query token; --focus cuts the "
                        "queries (every key still counts): {}",
                        where, shown(typed), range_text(count, &tokens)));
      }
      std::vector<std::string_view> views(tokens.begin(), tokens.end());
      const auto near = nearest(typed, views);
      throw Error(fmt::format("{}: no query token '{}'{}{}: {}", where, shown(typed), in_batch,
                              near ? fmt::format(" (did you mean '{}'?)", printable(*near)) : "",
                              range_text(count, &tokens)),
                  "give the query's position instead, e.g. query=0");
    }
    if (at.size() > 1) {
      throw Error(fmt::format("{}: the token '{}' stands at {}{}", where, shown(typed),
                              fmt::join(at, " and "), in_batch),
                  fmt::format("give its position instead, e.g. query={}", at.front()));
    }
    if (found && *found != at.front()) {
      throw Error(fmt::format("{}: the token '{}' stands at different positions in different "
                              "batches",
                              where, shown(typed)),
                  "add batch=N, or give the query's position");
    }
    found = at.front();
  }
  return *found;
}

}  // namespace

FocusRequest parse_focus(std::string_view text) {
  FocusRequest request;
  const std::string usage =
      "--focus takes head=H, query=TOKEN or position, batch=B, "
      "comma-separated, e.g. head=1,query=am";
  if (trim(text).empty()) throw Error("--focus: the value is empty: " + usage);
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view part = text.substr(start, end - start);
    start = end + 1;
    if (trim(part).empty()) {
      throw Error(
          fmt::format("--focus: an empty part (two commas in a row, or one at an end): {}", usage));
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      throw Error(fmt::format("--focus: '{}' has no '=': {}", shown(trim(part)), usage));
    }
    // The value as typed: a token may begin or end with a space.
    const std::string key = trim(part.substr(0, eq)), value(part.substr(eq + 1));
    std::optional<std::string>* slot = key == "head"    ? &request.head
                                       : key == "query" ? &request.query
                                       : key == "batch" ? &request.batch
                                                        : nullptr;
    if (!slot) {
      const auto near = nearest(key, focus_keys);
      throw Error(fmt::format("--focus: unknown axis '{}'{}: {}", shown(key),
                              near ? fmt::format(" (did you mean '{}'?)", *near) : "", usage));
    }
    if (*slot) throw Error(fmt::format("--focus: {} is given twice", key));
    if (trim(value).empty()) {
      throw Error(fmt::format("--focus: {}= has no value: {}", key, usage));
    }
    *slot = value;
  }
  return request;
}

TraceSlice resolve_focus(const Trace& trace, const FocusRequest& request, std::string_view source) {
  const TraceConfig& c = trace.config;
  TraceSlice slice;
  const std::size_t batches = c.batch ? static_cast<std::size_t>(*c.batch) : 1;
  if (request.batch) slice.batch = resolve_number(*request.batch, "batch", batches, source);
  if (request.head) {
    slice.head =
        resolve_number(*request.head, "head", static_cast<std::size_t>(c.num_heads), source);
  }
  if (request.query) slice.query = resolve_query(*request.query, trace, slice.batch, source);
  return slice;
}

Trace focus_trace(const Trace& trace, const FocusRequest& request, std::string_view source) {
  const TraceConfig& c = trace.config;
  TraceFocus focus;
  focus.batches = c.batch ? static_cast<std::size_t>(*c.batch) : 1;
  focus.heads = static_cast<std::size_t>(c.num_heads);
  focus.queries = static_cast<std::size_t>(c.q_len);
  focus.tokens = trace.tokens;
  const TraceSlice slice = resolve_focus(trace, request, source);
  focus.batch = slice.batch;
  focus.head = slice.head;
  focus.query = slice.query;

  // What each axis keeps; an axis a trace leaves out (no batch, one head) has nothing to cut.
  AxisKeep keep;
  keep[static_cast<std::size_t>(Axis::batch)] = focus.batch;
  keep[static_cast<std::size_t>(Axis::head)] = focus.head;
  keep[static_cast<std::size_t>(Axis::query)] = focus.query;

  Trace out;
  out.name = trace.name;
  out.description = trace.description;
  out.source = trace.source;
  out.config = trace.config;
  out.notes = trace.notes;
  out.warnings = trace.warnings;
  out.skipped = trace.skipped;
  out.published = trace.published;
  out.tokens = trace.tokens;
  out.kv_tokens = trace.kv_tokens;
  if (focus.batch && out.tokens.size() > 1) {
    out.tokens = {trace.tokens[*focus.batch]};
    out.kv_tokens = {trace.kv_tokens[*focus.batch]};
  }
  if (focus.query) {
    for (auto& tokens : out.tokens) tokens = {tokens[*focus.query]};
  }
  for (const Stage& stage : trace.stages) {
    Stage& cut_stage = out.stages.emplace_back(Stage{.id = stage.id,
                                                     .title = stage.title,
                                                     .formula = stage.formula,
                                                     .shapes = stage.shapes,
                                                     .tensors = {},
                                                     .note = stage.note});
    for (const Tensor& t : stage.tensors) cut_stage.tensors.push_back(cut_tensor(t, keep));
  }
  out.focus = focus;
  return out;
}

}  // namespace attn_trace
