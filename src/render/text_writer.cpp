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

constexpr std::size_t max_label = 12;  // token labels are cut to this many columns

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

std::vector<std::size_t> shown(std::size_t n, bool summarise) {
  std::vector<std::size_t> out;
  if (!summarise || n <= 2 * edge_items) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (std::size_t i = 0; i < edge_items; ++i) out.push_back(i);
  out.push_back(gap);
  for (std::size_t i = n - edge_items; i < n; ++i) out.push_back(i);
  return out;
}

std::string format_number(double value, int precision) {
  if (const auto text = non_finite_text(value, Spelling::symbols)) return std::string(*text);
  if (std::abs(value) >= 1e9) return fmt::format("{:.{}e}", value, precision);
  std::string s = fmt::format("{:.{}f}", value, precision);
  // "-0.0000" says nothing a learner needs.
  if (s.starts_with('-') && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string token_label(const std::string& token) {
  return excerpt(token, max_label);
}

std::string rule(std::string_view title, std::size_t width) {
  const std::size_t used = display_width(title);
  return used < width ? std::string(title) + repeat("━", width - used) : std::string(title);
}

const Tensor* additive_mask_for(const Trace& trace, const Tensor& t) {
  if (const Stage* masking = trace.find_stage(StageId::masking)) {
    for (const Tensor& m : masking->tensors) {
      if (m.name == "additive_mask" && m.shape == t.shape) return &m;
    }
  }
  return nullptr;
}

void TextWriter::line(std::string_view text) {
  fmt::print(out_, "{}\n", text);
}

void TextWriter::wrapped(std::string_view text, std::string_view indent) {
  // Measured as printed: under --ascii "−∞" becomes "-inf" and "→" "->", which are wider.
  line(options_.ascii ? wrap_words(to_ascii(text), width_, to_ascii(indent))
                      : wrap_words(text, width_, indent));
}

std::string TextWriter::symbol(std::string_view unicode) const {
  return options_.ascii ? to_ascii(unicode) : std::string(unicode);
}

std::string TextWriter::label(Axis axis, std::size_t i, std::size_t b) const {
  switch (axis) {
    case Axis::query:
      return token_label(trace_.tokens[b][i]);
    case Axis::key:
      return token_label(trace_.kv_tokens[b][i]);
    default:  // a focused trace counts its one batch or head as the whole trace does
      return std::to_string(trace_.whole_index(axis, i));
  }
}

}  // namespace attn_trace::walkthrough
