// The walkthrough as one self-contained HTML page, for a course website or a projector: CSS,
// script and data inline, nothing fetched from anywhere, so that it works offline and from
// file://. One stage at a time (arrow keys) or all stages; heatmaps; every number clickable for its
// arithmetic. The page's hooks for tests and scripts are documented in docs/html.md.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "attn_trace/core/explanation.hpp"
#include "attn_trace/core/trace.hpp"
#include "attn_trace/render/text.hpp"

namespace attn_trace {

// Explains one number the page shows: the cell of tensor `tensor` of stage `stage` at `index`
// (whole-trace indices, as `attn-trace explain` takes them, even when the page shows a focused
// slice). Returns nothing when it cannot. The CLI passes teach's explain() on the whole trace;
// render itself computes nothing, and shows each explanation as render_explanation_text writes it.
using CellExplainer = std::function<std::optional<Explanation>(
    StageId stage, const std::string& tensor, const std::vector<std::size_t>& index)>;

// Above this many numbers shown, the page leaves out the cells' explanations (it says so, why, and
// how to get them): each adds its arithmetic to the file, about 440 bytes, five times what its
// table cell takes. Measured (docs/html.md, bench/html.sh): at 10 000 numbers a page with them is
// about 4.5 MB and opens in headless Chromium in about 0.7 s on a 2-core machine; at 64 000 it is
// 29 MB and 2.6 s (without them: 5.6 MB and 1.1 s). The BERT-base page (L = 512, 12 heads,
// summarised as the text walkthrough is) shows 1728 numbers: explained, 1 MB, 0.3–0.8 s.
inline constexpr std::size_t html_explained_cells_limit = 10'000;

struct HtmlOptions {
  CellExplainer explain;  // none: no cell is explained (a click says to run attn-trace explain)
  // More numbers shown than this: no cell is explained, and the page says why.
  std::size_t explained_cells_limit = html_explained_cells_limit;
};

// Writes `trace` as one HTML page: what render_text writes, with the same options (stages,
// --until, precision, --full, --explain, the header, the weighted-values limit); the text-only
// options (width, colour, ASCII) do not apply: the scores, scaled, masked and weights tables are
// always shaded. Everything a user wrote is escaped, and the page's Content-Security-Policy lets
// only its own script run and nothing load, so that nothing from the input runs. The hooks
// (data-stage, data-cell, data-explain-for, aria-current) are documented in docs/html.md.
// REQUIRES: `trace` has at least one stage, as trace_attention makes it.
void render_html(const Trace& trace, const TextOptions& options, const HtmlOptions& html,
                 std::ostream& out);

}  // namespace attn_trace
