// How the traced numbers compare with the values a tutorial published (core/published.hpp).
#pragma once

#include <string>
#include <vector>

#include "attn_trace/core/published.hpp"
#include "attn_trace/core/trace.hpp"

namespace attn_trace {

// Compares each published tensor with the trace. Throws Error, naming `file` and the JSON path
// published.STAGE.TENSOR, for a stage or tensor the trace does not have, or a shape it does not
// have.
[[nodiscard]] std::vector<PublishedCheck> check_published(
    const std::vector<PublishedTensor>& published, const Trace& trace, const std::string& file);

}  // namespace attn_trace
