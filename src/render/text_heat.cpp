// The walkthrough's heatmaps (--color; text_writer.hpp): which tables are shaded, and the legend
// above each. The scale and each cell's shade are walkthrough.hpp's; the colours heatmap.hpp's.
#include <fmt/format.h>

#include "text_writer.hpp"

namespace attn_trace::walkthrough {

std::optional<Heat> heat_for(const TextWriter& w, const Stage& stage, const Tensor& t) {
  if (w.options().color == ColorMode::none) return std::nullopt;
  return heat_of(w.trace(), stage, t);
}

// "  shade  0  0.25  0.5  0.75  1  weights 0 → 1 · 0 blocked", each number on its own shade.
void write_legend(TextWriter& w, const Heat& h, bool blocked) {
  const ColorMode color = w.options().color;
  std::string text = "  shade ";
  const std::vector<double> values = legend_values(h);
  for (double v : values) {
    text +=
        " " + on_background(" " + w.symbol(legend_number(v)) + " ", heat_shade(v, h.scale), color);
  }
  text += (values.empty() ? " " : "  ") + legend_caption(h);
  if (blocked) {
    // After a softmax a blocked cell holds 0; before it, −∞.
    text += w.symbol(" · ") +
            on_background(h.weights ? " 0 " : w.symbol(" −∞ "), blocked_shade, color, true) +
            " blocked";
  }
  w.line(w.symbol(text));
}

}  // namespace attn_trace::walkthrough
