// The walkthrough as LaTeX, for slides (beamer) and lecture notes: a complete document that
// pdflatex compiles, or only its body (--latex-fragment) for pasting into one's own.
#pragma once

#include <ostream>

#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/text.hpp"

namespace attn_trace {

struct LatexOptions {
  bool fragment = false;  // only the body: no \documentclass, preamble or \begin{document}
};

// Writes `trace` as LaTeX: what render_text writes, with the same options (stages, --until,
// precision, --full, --explain, the header), laid out as LaTeX; the text-only options (width,
// colour, ASCII) do not apply. Every character a user wrote (tokens, names, notes) is escaped, so
// that nothing from the input runs as a command.
// REQUIRES: `trace` has at least one stage, as trace_attention makes it.
void render_latex(const Trace& trace, const TextOptions& options, const LatexOptions& latex,
                  std::ostream& out);

}  // namespace attn_trace
