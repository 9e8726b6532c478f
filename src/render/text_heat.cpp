// The walkthrough's heatmaps (--color; text_writer.hpp): which tables are shaded, on what scale,
// the legend above each, and the shade of each cell. The colours themselves are heatmap.hpp's.
#include "text_writer.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/stage_id.hpp"

namespace attn_trace::walkthrough {

std::optional<Heat> heat_for(const TextWriter& w, const Stage& stage, const Tensor& t) {
  if (w.options().color == ColorMode::none || t.generated()) return std::nullopt;
  const bool shaded = (stage.id == StageId::scores && t.name == "scores") ||
                      (stage.id == StageId::scaling && t.name == "scaled") ||
                      (stage.id == StageId::masking && t.name == "masked") ||
                      (stage.id == StageId::softmax && t.name == "weights");
  if (!shaded) return std::nullopt;
  Heat h;
  if (t.name == "masked" || t.name == "weights") h.additive = additive_mask_for(w.trace(), t);
  if (t.name == "weights") {
    h.weights = h.any = true;
    return h;
  }
  // The table's own range, blocked cells aside: the pattern within it is what a class looks for.
  for (std::size_t n = 0; n < t.data.size(); ++n) {
    const double v = t.data[n];
    if (!std::isfinite(v) || (h.additive && blocks_key(h.additive->data[n]))) continue;
    h.scale.low = h.any ? std::min(h.scale.low, v) : v;
    h.scale.high = h.any ? std::max(h.scale.high, v) : v;
    h.any = true;
  }
  return h;
}

// "  shade  0  0.25  0.5  0.75  1  weights 0 → 1 · 0 blocked", each number on its own shade.
void write_legend(TextWriter& w, const Heat& h, bool blocked) {
  const ColorMode color = w.options().color;
  const auto swatch = [&](double v) {
    // Three significant digits: short for any range (−1e9 included), distinct for a narrow one.
    std::string number = fmt::format("{:.3g}", v);
    if (number == "-0") number = "0";
    return " " + on_background(" " + w.symbol(number) + " ", heat_shade(v, h.scale), color);
  };
  std::string text = "  shade ";
  if (!h.any) {
    text += " no finite number to shade";
  } else if (h.scale.low == h.scale.high) {
    text += swatch(h.scale.low) + "  every number the same";
  } else {
    constexpr int steps = 5;
    for (int k = 0; k < steps; ++k) {
      text += swatch(h.scale.low + (h.scale.high - h.scale.low) * k / (steps - 1));
    }
    text += h.weights ? "  weights 0 → 1" : "  low → high";
  }
  if (blocked) {
    // After a softmax a blocked cell holds 0; before it, −∞.
    text += w.symbol(" · ") +
            on_background(h.weights ? " 0 " : w.symbol(" −∞ "), blocked_shade, color, true) +
            " blocked";
  }
  w.line(w.symbol(text));
}

std::optional<CellShade> cell_shade(const Heat& h, double value, const Matrix* additive, Index r,
                                    Index c) {
  if (additive && blocks_key((*additive)(r, c))) return CellShade{blocked_shade, true};
  if (!std::isfinite(value)) return std::nullopt;
  return CellShade{heat_shade(value, h.scale), false};
}

}  // namespace attn_trace::walkthrough
