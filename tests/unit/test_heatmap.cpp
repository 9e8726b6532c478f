// Heatmap shading: the ramp runs light to dark, the ink stays readable on it, blocked cells stand
// apart, and the walkthrough's layout is the same with colour as without.
#include <algorithm>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/heatmap.hpp"
#include "attn_trace/render/text.hpp"

using namespace attn_trace;
using Catch::Contains;

namespace {

std::string walkthrough(std::string_view example, TextOptions options) {
  const Trace trace = trace_attention(load_spec(find_example(example)->json, std::string(example)));
  std::ostringstream out;
  render_text(trace, options, out);
  return out.str();
}

std::string strip_escapes(const std::string& text) {
  return std::regex_replace(text, std::regex("\x1b\\[[0-9;]*m"), "");
}

int brightness(Rgb c) {
  return c.r + c.g + c.b;
}

}  // namespace

TEST_CASE("the ramp darkens from low to high and clamps at its ends", "[heatmap]") {
  const HeatScale scale{-2.0, 6.0};
  CHECK(heat_shade(-2.0, scale) == Rgb{239, 246, 253});
  CHECK(heat_shade(6.0, scale) == Rgb{8, 48, 107});
  CHECK(heat_shade(2.0, scale) == Rgb{124, 147, 180});  // half way, rounded per channel
  CHECK(heat_shade(-50.0, scale) == heat_shade(-2.0, scale));
  CHECK(heat_shade(50.0, scale) == heat_shade(6.0, scale));
  for (double v = -2.0; v < 6.0; v += 0.5) {
    CHECK(brightness(heat_shade(v + 0.5, scale)) < brightness(heat_shade(v, scale)));
  }
  // A table whose numbers are all equal is shaded in the middle, not at an end.
  CHECK(heat_shade(3.0, HeatScale{3.0, 3.0}) == heat_shade(0.5, HeatScale{0.0, 1.0}));
}

TEST_CASE("palette_index picks the nearest cube colour or grey", "[heatmap]") {
  CHECK(palette_index({0, 0, 0}) == 16);
  CHECK(palette_index({255, 255, 255}) == 231);
  CHECK(palette_index({255, 0, 0}) == 196);
  CHECK(palette_index({8, 48, 107}) == 23);      // the ramp's dark end: cube (0, 95, 95)
  CHECK(palette_index({128, 128, 128}) == 244);  // a grey is nearer on the grey ramp (128)
  CHECK(palette_index(blocked_shade) == 124);    // (175, 0, 0): red, on no step of the ramp
}

TEST_CASE("on_background writes the number in readable ink on its shade", "[heatmap]") {
  CHECK(on_background(" 0.50", Rgb{239, 246, 253}, ColorMode::truecolor) ==
        "\x1b[30;48;2;239;246;253m 0.50\x1b[0m");  // black on the light end
  CHECK(on_background(" 0.50", Rgb{8, 48, 107}, ColorMode::palette256) ==
        "\x1b[97;48;5;23m 0.50\x1b[0m");  // white on the dark end
  CHECK(on_background(" −∞", blocked_shade, ColorMode::palette256, true) ==
        "\x1b[1;97;48;5;124m −∞\x1b[0m");
  CHECK(on_background(" 0.50", Rgb{8, 48, 107}, ColorMode::none) == " 0.50");
}

TEST_CASE("a coloured walkthrough shades the four tables and keeps the layout", "[heatmap]") {
  TextOptions plain;
  TextOptions coloured;
  coloured.color = ColorMode::palette256;
  const std::string text = walkthrough("multihead", coloured);
  // The same text once the escapes are gone, but for one legend line per shaded table.
  std::string stripped = strip_escapes(text);
  std::string without_legends;
  std::istringstream lines(stripped);
  std::size_t legends = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("  shade ")) {
      ++legends;
      continue;
    }
    without_legends += line + "\n";
  }
  CHECK(without_legends == walkthrough("multihead", plain));
  CHECK(legends == 4);  // scores, scaled, masked, weights
  // The scores' legend spans the table's own range, in five even steps.
  const Trace trace = trace_attention(load_spec(find_example("multihead")->json, "multihead"));
  const std::vector<double>& scores = trace.find_stage(StageId::scores)->tensors.front().data;
  const double low = *std::min_element(scores.begin(), scores.end());
  const double high = *std::max_element(scores.begin(), scores.end());
  CHECK_THAT(stripped,
             Contains(fmt::format("  shade   {:.3g}   {:.3g}   {:.3g}   {:.3g}   {:.3g}   "
                                  "low → high\n",
                                  low, low + (high - low) / 4, (low + high) / 2,
                                  high - (high - low) / 4, high)));
  CHECK_THAT(stripped,
             Contains("  shade   0   0.25   0.5   0.75   1   weights 0 → 1 ·  0  blocked"));
  // Blocked cells, and only they, are on the blocked red: 6 per head in the masked scores and in
  // the weights (a causal mask over 4 tokens blocks 6 of 16 cells), plus the two legends.
  const std::string blocked = "\x1b[1;97;48;5;124m";
  std::size_t count = 0;
  for (std::size_t at = text.find(blocked); at != std::string::npos;
       at = text.find(blocked, at + 1)) {
    ++count;
  }
  CHECK(count == 2 * 6 * 2 + 2);
  CHECK_THAT(text, Contains(blocked + "      −∞\x1b[0m"));  // the cell and its column's padding
  CHECK_THAT(text, Contains(blocked + " 0.0000\x1b[0m"));
  // The input, the projections and the output are numbers, not a pattern: never shaded.
  const std::size_t scores_at = text.find("━━ 4/11 · scores");
  REQUIRE(scores_at != std::string::npos);
  CHECK(text.substr(0, scores_at).find("\x1b[") == std::string::npos);
}

TEST_CASE("truecolor shading writes 24-bit backgrounds", "[heatmap]") {
  TextOptions options;
  options.color = ColorMode::truecolor;
  options.stages.only = {StageId::softmax};
  const std::string text = walkthrough("i-am-good", options);
  CHECK_THAT(text, Contains("\x1b[30;48;2;239;246;253m 0 \x1b[0m"));  // the legend's 0
  CHECK(text.find("48;5;") == std::string::npos);
}

namespace {

std::string shaded(const std::string& input_json, TextOptions options = {}) {
  options.color = ColorMode::palette256;
  const Trace trace = trace_attention(load_spec(input_json, "test.json"));
  std::ostringstream out;
  render_text(trace, options, out);
  return out.str();
}

const std::string blocked_ink = "\x1b[1;97;48;5;124m";

}  // namespace

TEST_CASE("an overflow's nan is left unshaded, never called blocked", "[heatmap]") {
  // 1e200 · 1e200 overflows: the first row of scores is inf, of weights nan; no mask anywhere.
  const std::string text = shaded(R"({"input": [[1e200, 1e200], [1, 2]]})");
  CHECK(text.find(blocked_ink) == std::string::npos);
  CHECK_THAT(text, !Contains("blocked"));
  const std::string plain = strip_escapes(text);
  CHECK_THAT(text, Contains("    0     nan     nan\n"));  // the weights' nan row, unshaded
  CHECK_THAT(plain, Contains("    0 → no key (nan: see the warnings)"));
}

TEST_CASE("a mask of −1e9, as tutorials write −∞, blocks its cells visibly", "[heatmap]") {
  const std::string text = shaded(R"({"input": [[1, 0], [0, 1], [1, 1]],
                 "attn_mask": [[0, -1e9, -1e9], [0, 0, -1e9], [0, 0, 0]]})");
  const std::string plain = strip_escapes(text);
  // 3 blocked cells in masked and in weights, plus the two legends' swatches.
  std::size_t count = 0;
  for (auto at = text.find(blocked_ink); at != std::string::npos;
       at = text.find(blocked_ink, at + 1)) {
    ++count;
  }
  CHECK(count == 3 + 3 + 2);
  // The masked table's scale leaves the blocked cells out: it spans the scaled scores that
  // count, so their pattern shows; and the legend stays short.
  std::istringstream lines(plain);
  bool found = false;
  for (std::string line; std::getline(lines, line);) {
    CHECK(line.size() <= 80 * 3);  // bytes; columns below
    if (line.starts_with("  shade") && line.find("−∞") != std::string::npos) {
      found = true;
      // scaled = Q·Kᵀ/√2: .707, then 0 and .707, then .707, .707 and 1.414 where not blocked.
      CHECK_THAT(line, Contains("  shade   0   0.354   0.707   1.06   1.41   low → high"));
    }
  }
  CHECK(found);
}

TEST_CASE("a legend says when a table has one number or none to shade", "[heatmap]") {
  // Identical tokens: every score is the same.
  const std::string same = strip_escapes(shaded(R"({"input": [[1, 1], [1, 1]]})"));
  CHECK_THAT(same, Contains("  shade   2   every number the same\n"));
  // A narrow range keeps its steps apart: three significant digits.
  const std::string narrow =
      strip_escapes(shaded(R"({"input": [[0.01, 0.02], [0.03, 0.01]], "scale": "none"})"));
  // scores 0.0005 (twice) to 0.001: steps of 0.000125.
  CHECK_THAT(narrow,
             Contains("  shade   0.0005   0.000625   0.00075   0.000875   0.001   low → high"));
}

TEST_CASE("the summary marks ties and rows that attend to no key", "[render]") {
  // Identical tokens: each query attends to both keys equally.
  TextOptions options;
  options.color = ColorMode::none;
  const std::string same = shaded(R"({"input": [[1, 1], [1, 1]]})", options);
  CHECK_THAT(strip_escapes(same), Contains("    0 → 0 0.50 (tied with 1 more)"));
}
