// Comparing published values with the trace (compare_published.hpp).
#include "attn_trace/teach/compare_published.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attn_trace/core/check.hpp"
#include "attn_trace/core/error.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {
std::vector<PublishedCheck> check_published(const std::vector<PublishedTensor>& published,
                                            const Trace& trace, const std::string& file) {
  std::vector<PublishedCheck> checks;
  for (const PublishedTensor& p : published) {
    const std::string path = fmt::format("published.{}.{}", stage_name(p.stage), p.tensor);
    const Stage* stage = trace.find_stage(p.stage);
    if (!stage) {
      throw Error(
          fmt::format("{}: {}: this trace has no {} stage", file, path, stage_name(p.stage)));
    }
    const Tensor* tensor = nullptr;
    std::vector<std::string> names;
    for (const Tensor& t : stage->tensors) {
      names.push_back(t.name);
      if (t.name == p.tensor) tensor = &t;
    }
    if (!tensor) {
      throw Error(fmt::format("{}: {}: the {} stage has no tensor {} (it has {})", file, path,
                              stage_name(p.stage), p.tensor, fmt::join(names, ", ")));
    }
    if (tensor->generated()) {
      throw Error(
          fmt::format("{}: {}: {} is too large to hold (it is computed while it is "
                      "written), so it cannot be compared; publish another tensor",
                      file, path, p.tensor));
    }
    if (tensor->shape != p.shape) {
      throw Error(fmt::format("{}: {}: expected shape ({}) like the traced {}, found ({})", file,
                              path, fmt::join(tensor->shape, ", "), p.tensor,
                              fmt::join(p.shape, ", ")));
    }
    // Reproduced: the traced number, rounded to the printed decimals, is the printed number
    // (with a little room for the printed number's own binary representation); or both are the
    // same infinity, or both nan (a source may print a fully blocked row's nan, or a mask's −∞).
    // The same rule as `attn-trace check` (core/check.hpp), with no relative part.
    const Tolerance rounding{.rtol = 0, .atol = 0.5 * std::pow(10.0, -p.decimals) * (1 + 1e-9)};
    PublishedCheck check{p, {}};
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      const double traced = tensor->data[i];
      if (agree(traced, p.values[i], rounding)) continue;
      check.mismatches.push_back({index_of(i, p.shape), p.values[i], traced});
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

}  // namespace attn_trace
