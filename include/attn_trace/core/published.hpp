// Published values: the numbers a tutorial printed for a stage's tensor, kept in the example that
// reproduces it, and how the traced numbers compare with them. A learner who follows a tutorial
// sees where the tool agrees with it, and where and why it does not (a tutorial that rounded).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace attn_trace {

struct Trace;

// One tensor as a source printed it: `values` row-major in `shape`, each to `decimals` decimals.
struct PublishedTensor {
  std::string stage, tensor;  // where in the trace: a stage id and a tensor name
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

// Compares each published tensor with the trace. Throws Error, naming `file` and the JSON path
// published.STAGE.TENSOR, for a stage or tensor the trace does not have, or a shape it does not
// have.
[[nodiscard]] std::vector<PublishedCheck> check_published(
    const std::vector<PublishedTensor>& published, const Trace& trace, const std::string& file);

}  // namespace attn_trace
