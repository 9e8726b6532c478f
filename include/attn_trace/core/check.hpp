// A learner's own tensors against the trace, as data: what `attn-trace check` was given (read by
// input/given.hpp), and what it found (computed by teach/check.hpp, shown by render/check.hpp).
// The learner wrote attention themselves and saved their tensors by name; the report says which
// of them the trace reproduces, where the first wrong one is, and which classic mistake gives
// exactly the learner's numbers there.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/tensor.hpp"

namespace attn_trace {

// One array as the learner's file holds it.
struct GivenTensor {
  std::string name;                // as the file names it: "attn_weights", "split_heads.Q"
  std::vector<std::size_t> shape;  // as the file gives it; empty for a single number
  std::vector<double> values;      // row-major, product(shape) numbers (±inf and nan allowed)
};

// Every array of one file, in the order the file holds them.
struct GivenTensors {
  std::string file;  // what messages call it: "mine.npz", "<stdin>"
  // The file is an attn-trace JSON trace (run --format json): its tensors are named
  // "STAGE.TENSOR", so that two traces can be compared.
  bool from_trace = false;
  std::vector<GivenTensor> tensors;
};

// Two numbers agree when |yours − expected| ≤ atol + rtol·|expected| (NumPy's isclose), or both
// are the same infinity, or both nan. The default accepts a correct float32 implementation.
struct Tolerance {
  double rtol = 1e-4;
  double atol = 1e-6;
};

[[nodiscard]] bool agree(double yours, double expected, const Tolerance& tolerance);

// The tolerance for the numbers of one tensor whose finite numbers have root mean square `rms`:
// its absolute part grows by rtol·rms. float32 rounds a sum relative to the size of its terms,
// not of the sum: a score near 0 adds up products as large as any other score's, and a correct
// float32 implementation gets it only that close.
[[nodiscard]] Tolerance for_tensor(const Tolerance& tolerance, double rms);

// The root mean square of the numbers of all `parts` together (0 when there are none), leaving
// out ±∞, nan and numbers as large as a mask's −1e9, which stand for −∞.
[[nodiscard]] double finite_rms(std::span<const std::span<const double>> parts);

// One cell where the learner's number and the trace's differ.
struct CellDifference {
  std::vector<std::size_t> index;  // into the trace's tensor, one entry per axis
  double yours = 0, expected = 0;
};

// How one of the learner's tensors compares with the trace's.
struct TensorCheck {
  std::string given_name;  // as the learner's file names it
  StageId stage = StageId::input;
  std::string tensor;  // the trace's name for it: "weights"
  std::vector<Axis> axes;
  std::vector<std::size_t> shape;  // the trace's shape, which the learner's was read in
  std::size_t cells = 0, cells_differ = 0;
  double max_abs_error = 0, max_rel_error = 0;  // over the cells where both are finite
  std::vector<CellDifference> worst = {};       // the worst few differing cells, worst first
  // When this tensor differs only because earlier ones of the learner's did (it is what the
  // correct stages give from the learner's own earlier tensors): those that differ on their own
  // and that it is computed from, as indices into CheckReport::tensors, in stage order. Fix them
  // and this one matches too. Empty when it matches, or differs on its own.
  std::vector<std::size_t> follows_from = {};
  // When the learner's numbers are those of another tensor of the trace ("scaling.scaled" for
  // scores saved after scaling): its STAGE.TENSOR. Most likely a name for the wrong tensor.
  std::optional<std::string> same_as = {};

  [[nodiscard]] bool match() const { return cells_differ == 0; }
};

// A classic mistake that reproduces the learner's numbers at the first difference.
struct Diagnosis {
  std::string id;  // stable: "scale_sqrt_embed", "softmax_wrong_axis" (docs/check.md)
  StageId stage = StageId::input;  // where the mistake is made
  std::string text;                // what went wrong and how to fix it, one or two sentences
  std::size_t tensor = 0;  // the learner's tensor it reproduces: an index into CheckReport::tensors
};

struct CheckReport {
  std::string given_file;  // the learner's file, as messages call it
  std::string input;       // the trace's input, as messages call it: "ex.json", "example karim"
  Tolerance tolerance;
  std::vector<TensorCheck> tensors;  // in stage order (paper order), then the file's order
  std::optional<std::size_t> first_difference;  // index into tensors; none: all match
  std::vector<Diagnosis> diagnosis;             // every mistake that reproduces it, paper order
  // The trace's labels, for naming cells: one list per batch (trace.hpp).
  std::vector<std::vector<std::string>> tokens, kv_tokens;
  // What the reader should know of how the tensors were read (scores saved after scaling).
  std::vector<std::string> notes = {};

  [[nodiscard]] bool match() const { return !first_difference.has_value(); }
};

}  // namespace attn_trace
