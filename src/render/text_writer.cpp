// The writer and the helpers every part of the text walkthrough shares (text_writer.hpp).
#include "text_writer.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/render/ascii.hpp"

namespace attn_trace::walkthrough {
namespace {

// `text` on lines of at most `width` columns, broken between words; every line after the first
// starts with `indent`.
std::string wrap_words(std::string_view text, std::size_t width, std::string_view indent) {
  std::string out, line;
  std::size_t line_width = 0;
  for (std::size_t start = 0; start < text.size();) {
    // The next chunk: the spaces before a word, then the word.
    std::size_t word_start = text.find_first_not_of(' ', start);
    if (word_start == std::string_view::npos) break;
    std::size_t word_end = text.find(' ', word_start);
    if (word_end == std::string_view::npos) word_end = text.size();
    const std::string_view spaces = text.substr(start, word_start - start);
    const std::string_view word = text.substr(word_start, word_end - word_start);
    const std::size_t word_width = display_width(word);
    if (line_width > indent.size() && line_width + spaces.size() + word_width > width) {
      out += line + "\n";
      line = std::string(indent);
      line_width = indent.size();
    } else {
      line += spaces;
      line_width += spaces.size();
    }
    line += word;
    line_width += word_width;
    start = word_end;
  }
  return out + line;
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

std::string rule(std::string_view title, std::size_t width) {
  const std::size_t used = display_width(title);
  return used < width ? std::string(title) + repeat("━", width - used) : std::string(title);
}

void TextWriter::line(std::string_view text) {
  fmt::print(out_, "{}\n", text);
  written_ = true;
}

void TextWriter::wrapped(std::string_view text, std::string_view indent) {
  // Measured as printed: under --ascii "−∞" becomes "-inf" and "→" "->", which are wider.
  line(options_.ascii ? wrap_words(to_ascii(text), width_, to_ascii(indent))
                      : wrap_words(text, width_, indent));
}

std::string TextWriter::symbol(std::string_view unicode) const {
  return options_.ascii ? to_ascii(unicode) : std::string(unicode);
}

}  // namespace attn_trace::walkthrough
