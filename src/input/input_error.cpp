// The three forms of a message about an input (input_error.hpp), built here alone.
#include "input_error.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/text_width.hpp"

namespace attn_trace::loader {
namespace {

// `text` safe for one terminal line (printable), but with its tabs kept, so that a caret line
// built with the same tabs lines up under it.
std::string printable_keeping_tabs(std::string_view text) {
  std::string out;
  for (std::size_t i = 0;;) {
    const std::size_t tab = text.find('\t', i);
    out +=
        printable(text.substr(i, tab == std::string_view::npos ? std::string_view::npos : tab - i));
    if (tab == std::string_view::npos) return out;
    out += '\t';
    i = tab + 1;
  }
}

// Spaces as wide as `shown` is on a terminal, with its tabs kept as tabs: the caret after them
// lands where the terminal shows the next column.
std::string caret_indent(std::string_view shown) {
  std::string indent;
  for (std::size_t i = 0; i < shown.size();) {
    const std::size_t next = shown.find('\t', i);
    const std::size_t end = next == std::string_view::npos ? shown.size() : next;
    indent.append(display_width(shown.substr(i, end - i)), ' ');
    if (next == std::string_view::npos) break;
    indent += '\t';
    i = next + 1;
  }
  return indent;
}

}  // namespace

void fail_file(std::string_view file, std::string_view what, std::string hint) {
  throw Error(fmt::format("{}: {}", file, what), std::move(hint));
}

void fail_value(std::string_view file, std::string_view path, std::string_view what,
                std::string hint) {
  throw Error(fmt::format("{}: {}: {}", file, path, what), std::move(hint));
}

void fail_at(std::string_view text, std::string_view file, std::size_t offset,
             std::string_view what, std::string hint) {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') ++line, line_start = i + 1;
  }
  std::size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  const std::string_view line_text = text.substr(line_start, line_end - line_start);
  const std::size_t column = offset - line_start + 1;

  // The part of the line shown: from some way before the column to some way after it, cut at
  // whole UTF-8 characters.
  constexpr std::size_t context_before = 50, shown_bytes = 100;
  const auto continuation = [&](std::size_t i) {
    return i < line_text.size() && (static_cast<unsigned char>(line_text[i]) & 0xC0) == 0x80;
  };
  std::size_t from = column - 1 > context_before ? column - 1 - context_before : 0;
  while (from > 0 && continuation(from)) --from;
  std::size_t to = std::min(line_text.size(), std::max(from + shown_bytes, column));
  while (continuation(to)) ++to;
  const std::string cut_before = from > 0 ? "…" : "", cut_after = to < line_text.size() ? "…" : "";
  const std::string shown =
      cut_before + printable_keeping_tabs(line_text.substr(from, to - from)) + cut_after;
  const std::string caret =
      caret_indent(cut_before + printable_keeping_tabs(line_text.substr(from, column - 1 - from)));
  throw Error(fmt::format("{}:{}:{}: {}\n  {}\n  {}^", file, line, column, what, shown, caret),
              std::move(hint));
}

}  // namespace attn_trace::loader
