// What each stage does and why, in plain sentences: shown under each stage header with
// `run --explain`, and as docs/stages.md, which is generated from this same text (ctest
// docs.stages fails when the two differ; tools/update-stages-doc.sh rewrites the page).
#pragma once

#include <span>
#include <string_view>

namespace attn_trace {

struct StageText {
  std::string_view id;
  std::string_view what;   // what the stage does
  std::string_view why;    // why it is there
  std::string_view shape;  // the shape rule, with named axes
};

// One entry per stage id, in paper order (the order of stage_ids()).
[[nodiscard]] std::span<const StageText> stage_texts();

// The entry of stage `id`, or nullptr for an unknown id.
[[nodiscard]] const StageText* stage_text(std::string_view id);

}  // namespace attn_trace
