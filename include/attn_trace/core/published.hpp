// Published values, as data: the numbers a tutorial printed for a stage's tensor, kept in the
// example that reproduces it (Spec::published), and how the traced numbers compare with them
// (Trace::published, computed by teach/compare_published.hpp). A learner who follows a tutorial
// sees where the tool agrees with it, and where and why it does not (a tutorial that rounded).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "attn_trace/core/stage_id.hpp"

namespace attn_trace {

// One tensor as a source printed it: `values` row-major in `shape`, each to `decimals` decimals.
struct PublishedTensor {
  StageId stage = StageId::input;  // where in the trace: a stage
  std::string tensor;              // and a tensor of it
  std::vector<std::size_t> shape;
  std::vector<double> values;
  int decimals = 4;
  std::string note;  // why the source differs, when it is known
};

// A published number that the traced one, rounded to the same decimals, does not reproduce.
struct PublishedMismatch {
  std::vector<std::size_t> index;
  double published = 0, traced = 0;
};

struct PublishedCheck {
  PublishedTensor published;
  std::vector<PublishedMismatch> mismatches;  // empty: every number reproduced
};

}  // namespace attn_trace
