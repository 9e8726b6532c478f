// Terminal width of UTF-8 text. A small table of East Asian wide ranges is enough for token labels;
// combining marks count as zero columns.
#include "attn_trace/core/text_width.hpp"

namespace attn_trace {
namespace {

// Decodes one code point at s[i], advancing i. Invalid bytes count as one column each.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const std::size_t length = utf8_length(s, i);
  if (length == 0) {  // one '?' for the byte that does not start a well-formed sequence
    ++i;
    return U'?';
  }
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  char32_t cp = length == 1 ? byte(i) : byte(i) & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (byte(i + k) & 0x3F);
  i += length;
  return cp;
}

std::size_t code_point_width(char32_t cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) || cp == 0xFE0F) return 0;
  const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
                    (cp >= 0x20000 && cp <= 0x3FFFD);
  return wide ? 2 : 1;
}

}  // namespace

std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  if (at >= text.size()) return 0;
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  // The range of the second byte depends on the lead byte: that is what rules out overlong
  // forms (E0 80 …), surrogates (ED A0 …) and code points beyond U+10FFFF (F4 90 …).
  unsigned char low = 0x80, high = 0xBF;
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(at + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

std::size_t display_width(std::string_view utf8) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < utf8.size();) width += code_point_width(next_code_point(utf8, i));
  return width;
}

std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const char32_t cp = next_code_point(text, i);
    const bool invalid = cp == U'?' && text[start] != '?';
    const bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    const bool invisible = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
                           cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F;
    if (invalid) {
      out += '?';
    } else if (control || invisible) {
      out += ' ';
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

std::string truncate_to_width(std::string_view utf8, std::size_t columns) {
  if (display_width(utf8) <= columns) return std::string(utf8);
  std::string out;
  std::size_t width = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    const std::size_t start = i;
    const std::size_t w = code_point_width(next_code_point(utf8, i));
    if (width + w + 1 > columns) break;  // keep one column for the ellipsis
    out.append(utf8.substr(start, i - start));
    width += w;
  }
  return out + "…";
}

std::string excerpt(std::string_view text, std::size_t columns) {
  return truncate_to_width(printable(text), columns);
}

}  // namespace attn_trace
