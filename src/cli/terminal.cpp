// Terminal handling for run: colour detection and the --step pager.
#include "terminal.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include "attn_trace/error.hpp"

namespace attn_trace::cli {
namespace {

// The terminal's settings before --step changed them, restored on every way out: a normal end,
// an exception, and SIGTERM or SIGHUP (tcsetattr is async-signal-safe).
struct termios saved_settings;
volatile std::sig_atomic_t settings_saved = 0;

void restore_settings() {
  if (settings_saved) tcsetattr(STDIN_FILENO, TCSANOW, &saved_settings);
}

extern "C" void restore_and_reraise(int signal) {
  restore_settings();
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

// Reads keys one at a time without echo for as long as it lives. Ctrl-C arrives as a key
// (ISIG off) so that quitting always goes through the same door.
class RawKeys {
 public:
  RawKeys() {
    if (tcgetattr(STDIN_FILENO, &saved_settings) != 0) {
      throw Error("--step: cannot read the terminal's settings");
    }
    settings_saved = 1;
    std::signal(SIGTERM, restore_and_reraise);
    std::signal(SIGHUP, restore_and_reraise);
    struct termios raw = saved_settings;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  ~RawKeys() {
    restore_settings();
    settings_saved = 0;
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGHUP, SIG_DFL);
  }
  RawKeys(const RawKeys&) = delete;
  RawKeys& operator=(const RawKeys&) = delete;

  // The next byte, or -1 at the end of input.
  int next() {
    unsigned char c = 0;
    const ssize_t n = read(STDIN_FILENO, &c, 1);
    return n == 1 ? c : -1;
  }
};

enum class Key { next, back, quit, other };

Key read_key(RawKeys& keys) {
  const int c = keys.next();
  switch (c) {
    case '\r':
    case '\n':
    case ' ':
    case 'n':
      return Key::next;
    case 'b':
    case 'B':
    case 'p':
      return Key::back;
    case 'q':
    case 'Q':
    case 3:   // Ctrl-C
    case 4:   // Ctrl-D
    case -1:  // end of input
      return Key::quit;
    case 0x1b:  // an arrow: ESC [ C (→) or ESC [ D (←)
      if (keys.next() != '[') return Key::other;
      switch (keys.next()) {
        case 'C':
          return Key::next;
        case 'D':
          return Key::back;
        default:
          return Key::other;
      }
    default:
      return Key::other;
  }
}

void write_all(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    throw Error("cannot write to standard output");
  }
}

}  // namespace

bool is_terminal(int fd) {
  return isatty(fd) == 1;
}

ColorMode pick_color(std::string_view when, bool to_terminal) {
  if (when == "never") return ColorMode::none;
  if (when == "auto") {
    const char* no_color = std::getenv("NO_COLOR");
    if (!to_terminal || (no_color && *no_color)) return ColorMode::none;
  }
  const char* colorterm = std::getenv("COLORTERM");
  const std::string_view kind = colorterm ? colorterm : "";
  return kind == "truecolor" || kind == "24bit" ? ColorMode::truecolor : ColorMode::palette256;
}

void step_through(const std::vector<TextPage>& pages, bool ascii) {
  RawKeys keys;
  const std::string dot = ascii ? " | " : " · ";
  std::size_t at = 0;
  for (;;) {
    const TextPage& page = pages[at];
    const bool last = at + 1 == pages.size();
    const std::string where =
        page.total > 0 ? fmt::format("stage {}/{}", page.number, page.total) : "the header";
    const std::string footer = fmt::format("{}{}{}{}b back{}q quit", where, dot,
                                           last ? "Enter end" : "Enter next", dot, dot);
    // Home, clear the screen: each stage starts at the top, as on a slide.
    write_all("\x1b[H\x1b[2J" + page.text + "\n" + footer);
    Key key = read_key(keys);
    while (key == Key::other || (key == Key::back && at == 0)) key = read_key(keys);
    if (key == Key::quit || (key == Key::next && last)) break;
    at = key == Key::next ? at + 1 : at - 1;
  }
  write_all("\n");
}

}  // namespace attn_trace::cli
