// The LaTeX walkthrough (latex.hpp). Placeholder until the renderer lands.
#include "attn_trace/render/latex.hpp"

#include "attn_trace/core/error.hpp"

namespace attn_trace {

void render_latex(const Trace&, const TextOptions&, const LatexOptions&, std::ostream&) {
  throw Error("--format latex is not written yet");
}

}  // namespace attn_trace
