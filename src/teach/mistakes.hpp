// The classic mistakes of a learner's attention, as stand-ins for a stage's math (replay.hpp): the
// catalogue of docs/check.md. Each is the mistaken computation itself, so that check.cpp can run
// it from the trace's correct tensors and see whether it gives exactly the learner's numbers —
// never a guess from how the numbers look. Private to teach.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/stage_id.hpp"
#include "replay.hpp"

namespace attn_trace::replay {

struct Mistake {
  std::string_view id;  // stable, as in docs/check.md: "scale_missing"
  StageId stage;        // where the mistake is made
  Node first;           // the first node it changes
  Node last;            // the last node it changes (beyond, the stages' own math)
  std::string text;     // what went wrong and how to fix it, for this trace's sizes
  Override change;      // the mistaken values, where they differ from the stage's math
};

// Every mistake of the catalogue, in each of its variants, that can be made in this trace (the
// head mistakes need heads, the mask mistakes masks …), in paper order. `given_masked`, when the
// learner gave their masked scores, adds the finite number they wrote in the blocked cells to
// mask_not_infinite's candidates.
[[nodiscard]] std::vector<Mistake> mistakes_for(const Flow& flow, const Blocks* given_masked);

// Every id of the catalogue, in paper order (docs/check.md lists them all).
[[nodiscard]] std::vector<std::string_view> mistake_ids();

}  // namespace attn_trace::replay
