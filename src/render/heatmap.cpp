// Heatmap shading: a colour ramp, its 256-colour approximation and the escape sequences.
#include "attn_trace/render/heatmap.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace attn_trace {
namespace {

// The ramp's ends, those of matplotlib's "Blues": light enough for black digits at the low end,
// dark enough for white digits at the high end.
constexpr Rgb lightest{239, 246, 253}, darkest{8, 48, 107};

std::uint8_t mix(std::uint8_t from, std::uint8_t to, double t) {
  return static_cast<std::uint8_t>(std::lround(from + (to - from) * t));
}

// Relative luminance (ITU-R BT.709 weights on the 0–255 channels), from 0 to 1.
double luminance(Rgb c) {
  return (0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b) / 255.0;
}

int squared_distance(Rgb a, Rgb b) {
  const int dr = a.r - b.r, dg = a.g - b.g, db = a.b - b.b;
  return dr * dr + dg * dg + db * db;
}

// The cube's six levels per channel; the grey ramp's 24 steps (232–255) are 8, 18, …, 238.
constexpr std::array<int, 6> levels{0, 95, 135, 175, 215, 255};

// The colour a 256-colour terminal shows for index 16–255.
Rgb palette_colour(int index) {
  if (index >= 232) {
    const auto grey = static_cast<std::uint8_t>(8 + 10 * (index - 232));
    return {grey, grey, grey};
  }
  const int cube = index - 16;
  return {static_cast<std::uint8_t>(levels[static_cast<std::size_t>(cube / 36)]),
          static_cast<std::uint8_t>(levels[static_cast<std::size_t>(cube / 6 % 6)]),
          static_cast<std::uint8_t>(levels[static_cast<std::size_t>(cube % 6)])};
}

}  // namespace

Rgb heat_shade(double value, const HeatScale& scale) {
  double t = 0.5;
  if (scale.high > scale.low) t = (value - scale.low) / (scale.high - scale.low);
  if (std::isnan(t)) t = 0.5;
  t = std::clamp(t, 0.0, 1.0);
  return {mix(lightest.r, darkest.r, t), mix(lightest.g, darkest.g, t),
          mix(lightest.b, darkest.b, t)};
}

int palette_index(Rgb colour) {
  const auto nearest_level = [](int v) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < levels.size(); ++k) {
      if (std::abs(levels[k] - v) < std::abs(levels[best] - v)) best = k;
    }
    return static_cast<int>(best);
  };
  const int cube =
      16 + 36 * nearest_level(colour.r) + 6 * nearest_level(colour.g) + nearest_level(colour.b);
  // The grey step nearest the channels' mean, among 8, 18, …, 238.
  const int mean = (colour.r + colour.g + colour.b) / 3;
  const int grey = 232 + std::min(std::max(mean - 3, 0) / 10, 23);
  return squared_distance(colour, palette_colour(grey)) <
                 squared_distance(colour, palette_colour(cube))
             ? grey
             : cube;
}

bool wants_light_text(Rgb background) {
  return luminance(background) < 0.5;
}

std::string on_background(std::string_view cell, Rgb colour, ColorMode mode, bool strong) {
  if (mode == ColorMode::none) return std::string(cell);
  const int index = mode == ColorMode::palette256 ? palette_index(colour) : 0;
  // The ink suits the colour the terminal will really show.
  const bool dark =
      wants_light_text(mode == ColorMode::palette256 ? palette_colour(index) : colour);
  const std::string ink = dark ? "97" : "30";  // bright white on dark shades, black on light ones
  const std::string background = mode == ColorMode::truecolor
                                     ? fmt::format("48;2;{};{};{}", colour.r, colour.g, colour.b)
                                     : fmt::format("48;5;{}", index);
  return fmt::format("\x1b[{}{};{}m{}\x1b[0m", strong ? "1;" : "", ink, background, cell);
}

}  // namespace attn_trace
