// The stages of attention, in the order the tutorials compute them: one enum, and one table of
// each stage's name, title and what it does and why (shown by `run --explain`, and as
// docs/stages.md, which is generated from the same table: ctest's docs.stages fails when the two
// differ; tools/update-stages-doc.sh rewrites the page). A stage's name ("softmax") is its word at
// the edges only: flags, the JSON export, explain's CELL, the docs; inside, stages are StageIds.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace attn_trace {

// In paper order: a stage compares below every stage after it (StageId::scores < StageId::softmax).
enum class StageId {
  input,
  projections,
  extra_keys,
  split_heads,
  scores,
  scaling,
  masking,
  softmax,
  weighted_values,
  summation,
  merge_heads,
  out_proj,
};

struct StageInfo {
  StageId id;
  std::string_view name;   // "softmax"
  std::string_view title;  // "Softmax over each row"; a trace may word it for its own case
  std::string_view what;   // what the stage does
  std::string_view why;    // why it is there
  std::string_view shape;  // the shape rule, with named axes
};

// Every stage, in paper order.
[[nodiscard]] std::span<const StageInfo> all_stages();

[[nodiscard]] const StageInfo& stage_info(StageId id);
[[nodiscard]] std::string_view stage_name(StageId id);

// The stage called `name`, or nothing: for flags, a CELL, an input's "published" block.
[[nodiscard]] std::optional<StageId> stage_named(std::string_view name);

// Every stage's name, in paper order: for "did you mean" and for lists of valid names.
[[nodiscard]] std::span<const std::string_view> stage_names();

// Which stages a renderer shows: --stages (only these; none given: all) and --until (none after
// this one; none given: to the end).
struct StageSelection {
  std::vector<StageId> only = {};
  std::optional<StageId> until = {};

  // `id` is shown: among `only` (or `only` is empty), and not after `until`.
  [[nodiscard]] bool shows(StageId id) const;
  // Nothing is cut away: every stage is shown.
  [[nodiscard]] bool all() const { return only.empty() && !until; }
};

}  // namespace attn_trace
