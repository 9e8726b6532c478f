// The terminal: whether output goes to one, which colours it takes (--color), and stepping
// through the walkthrough one stage at a time (--step).
#pragma once

#include <string_view>
#include <vector>

#include "attn_trace/render/heatmap.hpp"
#include "attn_trace/render/text.hpp"

namespace attn_trace::cli {

// stdin (0) or stdout (1) is a terminal.
[[nodiscard]] bool is_terminal(int fd);

// --color auto|always|never. auto colours only a terminal, and never when NO_COLOR is set to
// anything but the empty string (no-color.org), nor on TERM=dumb. 24-bit colour when COLORTERM says
// truecolor or 24bit, the 256-colour palette otherwise.
[[nodiscard]] ColorMode pick_color(std::string_view when, bool to_terminal);

// Shows one page at a time on the terminal (stdin and stdout), clearing the screen before each,
// with the footer "stage 3/9 · Enter next · b back · q quit" (in ASCII when `ascii`); a page
// taller than the screen is shown a screenful at a time ("lines 1–23 of 63 · Enter more"). Enter,
// space or → go on, b or ← go back, q, Ctrl-C or Ctrl-D quit; Enter on the last page ends. The
// terminal is restored however it ends.
void step_through(const std::vector<TextPage>& pages, bool ascii);

}  // namespace attn_trace::cli
