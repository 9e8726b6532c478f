// Terminal handling for run: colour detection and the --step pager.
#include "terminal.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/text_width.hpp"

namespace attn_trace::cli {
namespace {

// The terminal's settings before --step changed them, restored on every way out: a normal end,
// an exception, and a signal from elsewhere (tcsetattr is async-signal-safe).
struct termios saved_settings;
volatile std::sig_atomic_t settings_saved = 0;

void restore_settings() {
  if (settings_saved) tcsetattr(STDIN_FILENO, TCSANOW, &saved_settings);
}

// Set when the window changes size; its handler only interrupts the read of the next key.
volatile std::sig_atomic_t resized = 0;
extern "C" void note_resize(int) {
  resized = 1;
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
    for (int signal : signals) std::signal(signal, restore_and_reraise);
    // No SA_RESTART: a resize interrupts the wait for a key, and the page is drawn again.
    struct sigaction on_resize {};
    on_resize.sa_handler = note_resize;
    sigemptyset(&on_resize.sa_mask);
    sigaction(SIGWINCH, &on_resize, nullptr);
    struct termios raw = saved_settings;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  ~RawKeys() {
    // Keys pressed ahead (a held Enter) are dropped: they must not spill into the shell, nor
    // scroll the last page away.
    tcflush(STDIN_FILENO, TCIFLUSH);
    restore_settings();
    settings_saved = 0;
    for (int signal : signals) std::signal(signal, SIG_DFL);
    std::signal(SIGWINCH, SIG_DFL);
  }
  RawKeys(const RawKeys&) = delete;
  RawKeys& operator=(const RawKeys&) = delete;

  // The next byte; -1 at the end of input, -3 when the window changed size meanwhile.
  int next() {
    for (;;) {
      unsigned char c = 0;
      const ssize_t n = read(STDIN_FILENO, &c, 1);
      if (n == 1) return c;
      if (n < 0 && errno == EINTR) {
        if (resized) {
          resized = 0;
          return -3;
        }
        continue;
      }
      return -1;
    }
  }

  // The next byte if one comes within `ms` milliseconds (the rest of an arrow's sequence), else
  // -2: a lone Esc must not swallow the key after it.
  int next_within(int ms) {
    struct pollfd in = {STDIN_FILENO, POLLIN, 0};
    return poll(&in, 1, ms) == 1 ? next() : -2;
  }

 private:
  // Ctrl-C typed on the keyboard arrives as a key; these come from elsewhere (kill, a closed
  // terminal).
  static constexpr int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
};

enum class Key { next, back, quit, resize, other };

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
    case -3:  // the window changed size
      return Key::resize;
    case 0x1b: {  // an arrow: ESC [ C (→) or ESC [ D (←), or ESC O C / ESC O D
      const int introducer = keys.next_within(50);
      if (introducer != '[' && introducer != 'O') return Key::other;
      switch (keys.next_within(50)) {
        case 'C':
          return Key::next;
        case 'D':
          return Key::back;
        default:
          return Key::other;
      }
    }
    default:
      return Key::other;
  }
}

// The terminal's size, or 80×24 when it does not say.
std::pair<std::size_t, std::size_t> window_size() {
  struct winsize size {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_row == 0 || size.ws_col == 0) {
    return {24, 80};
  }
  return {size.ws_row, size.ws_col};
}

// How many terminal rows `line` takes in `columns` columns: its colour escapes take none.
std::size_t rows_of(std::string_view line, std::size_t columns) {
  std::string visible;
  for (std::size_t at = 0; at < line.size(); ++at) {
    if (line[at] == '\x1b') {
      at = line.find('m', at);
      if (at == std::string_view::npos) break;
      continue;
    }
    visible += line[at];
  }
  const std::size_t width = display_width(visible);
  return width == 0 ? 1 : (width + columns - 1) / columns;
}

// A page's lines, without the blank line that separates stages in the whole walkthrough.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  while (!lines.empty() && lines.front().empty()) lines.erase(lines.begin());
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
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
    const char* term = std::getenv("TERM");
    if (!to_terminal || (no_color && *no_color) || (term && std::string_view(term) == "dumb")) {
      return ColorMode::none;
    }
  }
  const char* colorterm = std::getenv("COLORTERM");
  const std::string_view kind = colorterm ? colorterm : "";
  return kind == "truecolor" || kind == "24bit" ? ColorMode::truecolor : ColorMode::palette256;
}

void step_through(const std::vector<TextPage>& pages, bool ascii) {
  RawKeys keys;
  const std::string dot = ascii ? " | " : " · ";
  std::size_t at = 0;     // the page shown
  std::size_t first = 0;  // its first line on the screen: a page taller than the screen scrolls
  for (;;) {
    const TextPage& page = pages[at];
    const std::vector<std::string> lines = lines_of(page.text);
    const auto [rows, columns] = window_size();
    const bool last = at + 1 == pages.size();
    const auto footer = [&](std::size_t end) {
      const bool more = end < lines.size();
      std::string where =
          page.total > 0 ? fmt::format("stage {}/{}", page.number, page.total) : "the header";
      if (first > 0 || more) {
        where += fmt::format("{}lines {}{}{} of {}", dot, first + 1, ascii ? "-" : "–", end,
                             lines.size());
      }
      return fmt::format("{}{}{}{}b back{}q quit", where, dot,
                         more   ? "Enter more"
                         : last ? "Enter end"
                                : "Enter next",
                         dot, dot);
    };
    // As many lines as fit above the footer and the blank line before it. A wide line takes
    // several rows, and so does the footer in a narrow window: its longest form is counted.
    const std::size_t reserved =
        1 + rows_of(footer(std::max<std::size_t>(lines.size(), 1) - 1), columns);
    std::size_t end = first, used = 0;
    while (end < lines.size() &&
           (end == first || used + rows_of(lines[end], columns) + reserved <= rows)) {
      used += rows_of(lines[end++], columns);
    }
    const bool more = end < lines.size();
    // Home, clear the screen: each stage starts at the top, as on a slide.
    std::string screen = "\x1b[H\x1b[2J";
    for (std::size_t n = first; n < end; ++n) screen += lines[n] + "\n";
    write_all(screen + "\n" + footer(end));
    Key key = read_key(keys);
    while (key == Key::other || (key == Key::back && at == 0 && first == 0)) key = read_key(keys);
    if (key == Key::quit || (key == Key::next && !more && last)) break;
    if (key == Key::resize) continue;  // the same place, laid out for the new size
    if (key == Key::next) {
      if (more) {
        first = end;
      } else {
        ++at;
        first = 0;
      }
    } else {  // back: to the top of the stage before (or of this one, on the first)
      if (at > 0) --at;
      first = 0;
    }
  }
  write_all("\n");
}

}  // namespace attn_trace::cli
