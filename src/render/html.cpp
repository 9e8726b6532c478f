// The HTML walkthrough (html.hpp). Placeholder until the renderer lands.
#include "attn_trace/render/html.hpp"

#include "attn_trace/core/error.hpp"

namespace attn_trace {

void render_html(const Trace&, const TextOptions&, const HtmlOptions&, std::ostream&) {
  throw Error("--format html is not written yet");
}

}  // namespace attn_trace
