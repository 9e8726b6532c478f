// The text walkthrough: the trace printed stage by stage, as the tutorials write it on paper.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "attn_trace/trace.hpp"

namespace attn_trace {

struct TextOptions {
  int precision = 4;                // decimals per number
  bool full = false;                // never summarise large tensors
  std::vector<std::string> stages;  // stage ids to show; empty shows all
  std::string until;                // a stage id: show none after it
  bool explain = false;  // under each stage header, what it does and why (stage_text.hpp)
  bool ascii = false;    // table cells in ASCII (the caller converts the rest: to_ascii)
  int width = 80;        // terminal columns to fit
  std::size_t weighted_limit = default_weighted_limit;  // larger weighted_values are left out
};

// A tensor of more elements than this is summarised (first and last rows and columns) unless
// TextOptions::full.
inline constexpr std::size_t summary_threshold = 1000;

void render_text(const Trace& trace, const TextOptions& options, std::ostream& out);

}  // namespace attn_trace
