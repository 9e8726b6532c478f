// The Markdown walkthrough (markdown.hpp). Placeholder until the renderer lands.
#include "attn_trace/render/markdown.hpp"

#include "attn_trace/core/error.hpp"

namespace attn_trace {

void render_markdown(const Trace&, const TextOptions&, std::ostream&) {
  throw Error("--format markdown is not written yet");
}

}  // namespace attn_trace
