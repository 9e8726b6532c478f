// The walkthrough as GitHub-flavoured Markdown, for lecture notes, a README or a Jupyter cell: the
// header as a list, each stage under a heading with its formula as $…$ math and its shape algebra,
// each 2-D block of a tensor as a pipe table with the tokens as the header row and first column.
#pragma once

#include <ostream>

#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/text.hpp"

namespace attn_trace {

// Writes `trace` as Markdown: what render_text writes, with the same options (stages, --until,
// precision, --full, --explain, the header), laid out as Markdown; the text-only options (width,
// colour, ASCII) do not apply. Blocked cells read −∞; large tensors are summarised as in the text
// walkthrough. A token's `|`, backtick or HTML cannot break a table: cells are escaped.
// REQUIRES: `trace` has at least one stage, as trace_attention makes it.
void render_markdown(const Trace& trace, const TextOptions& options, std::ostream& out);

}  // namespace attn_trace
