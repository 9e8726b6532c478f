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
// (whole-trace indices, as `attn-trace explain` takes them). Returns nothing when it cannot.
// The CLI passes teach's explain(); render itself computes nothing.
using CellExplainer = std::function<std::optional<Explanation>(
    StageId stage, const std::string& tensor, const std::vector<std::size_t>& index)>;

// Above this many numbers shown, the page leaves out the cells' explanations (it says so and why):
// each adds its arithmetic to the file.
inline constexpr std::size_t html_explained_cells_limit = 5000;

struct HtmlOptions {
  CellExplainer explain;  // none: no cell is explained
  std::size_t explained_cells_limit = html_explained_cells_limit;
};

// Writes `trace` as one HTML page: what render_text writes, with the same options (stages,
// --until, precision, --full, --explain, the header); the text-only options (width, colour, ASCII)
// do not apply. Everything a user wrote is escaped, so that nothing from the input runs.
// REQUIRES: `trace` has at least one stage, as trace_attention makes it.
void render_html(const Trace& trace, const TextOptions& options, const HtmlOptions& html,
                 std::ostream& out);

}  // namespace attn_trace
