// Heatmap shading for the walkthrough's score and weight tables: each cell's background says how
// large its number is, so that the pattern of attention shows before a single number is read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace attn_trace {

// How a terminal takes colour: not at all, 256 indexed colours, or 24-bit RGB (COLORTERM).
enum class ColorMode { none, palette256, truecolor };

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// The range a table's shades span: low is the lightest shade, high the darkest.
struct HeatScale {
  double low = 0, high = 1;
};

// The shade of `value` on `scale`: from near-white (low) to dark blue (high), clamped to the ends.
// A scale whose ends are equal shades every value as its middle.
[[nodiscard]] Rgb heat_shade(double value, const HeatScale& scale);

// The shade of a cell a mask blocked (−∞ before the softmax, 0 after it): a red that is on no
// ramp, so that a blocked cell never passes for a small number.
inline constexpr Rgb blocked_shade{190, 30, 45};

// Whether text on `background` reads better in white than in black (its luminance is below half).
[[nodiscard]] bool wants_light_text(Rgb background);

// The nearest of the 256-colour palette's 6×6×6 cube and grey ramp (indices 16–255).
[[nodiscard]] int palette_index(Rgb colour);

// `cell` (already padded to its column) on background `colour`, in black or white, whichever reads
// better on it; bold when `strong`. The escape sequences take no columns; the text is unchanged.
[[nodiscard]] std::string on_background(std::string_view cell, Rgb colour, ColorMode mode,
                                        bool strong = false);

}  // namespace attn_trace
