// How much memory a trace needs, known before anything is computed, so that a trace too large for
// the machine is refused with a clear message instead of failing (or swapping) half way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "attn_trace/core/plan.hpp"
#include "attn_trace/core/spec.hpp"

namespace attn_trace {

// The default budget. One BERT-base layer (E = 768, 12 heads) needs about 190 MiB for L = 512,
// 1.92 GiB for L = 2048 and 28.5 GiB for L = 8192, which few machines have.
inline constexpr std::uint64_t default_memory_budget = std::uint64_t{2} << 30;  // 2 GiB

// A JSON document in memory takes up to this many times the bytes of its text (for rows of
// one-digit numbers; a model's weights, with long numbers, take about one): the largest input a
// budget lets the loader read is budget / json_memory_factor.
inline constexpr int json_memory_factor = 16;

struct MemoryEstimate {
  double bytes = 0;  // every tensor the trace holds, and the input it is computed from
  double overhead =
      0;  // the part of `bytes` that is not tensors: the program, the writer's buffers
  std::string
      largest;  // its largest part and its size, e.g. "scores, scaled and weights, … : 72 MiB"
};

// What writes the trace out, for the estimate of its buffers: the JSON export, the NumPy export,
// or a walkthrough (text, Markdown, LaTeX, HTML).
enum class Rendering { json, npz, walkthrough };

// The memory trace_attention(spec, plan) will hold and `rendering` will need, to within a few
// percent (allocator overhead comes on top): only what the plan computes and records.
[[nodiscard]] MemoryEstimate estimate_memory(const Spec& spec, const TracePlan& plan = {},
                                             Rendering rendering = Rendering::json);

// "512MiB", "2GiB", "1.5G", "4000000" (bytes): K, M, G, T (with or without "iB") are powers of
// 1024, KB, MB, GB, TB powers of 1000. Nothing for anything else.
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);

// "1.6 GiB", "512 MiB", "900 KiB", "12 bytes".
[[nodiscard]] std::string format_size(double bytes);

}  // namespace attn_trace
