// Escaping for the HTML page (html_escape.hpp).
#include "html_escape.hpp"

#include <fmt/format.h>

#include "attn_trace/core/text_width.hpp"

namespace attn_trace::html {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Calls `ascii(c)` for each ASCII byte of `text` and `sequence(s)` for each well-formed multi-byte
// UTF-8 sequence; a byte that starts none becomes U+FFFD (as a sequence).
template <typename Ascii, typename Sequence>
void for_each_character(std::string_view text, Ascii&& ascii, Sequence&& sequence) {
  for (std::size_t at = 0; at < text.size();) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if (byte < 0x80) {
      ascii(text[at]);
      ++at;
      continue;
    }
    const std::size_t length = utf8_length(text, at);
    if (length == 0) {
      sequence(replacement);
      ++at;
      continue;
    }
    sequence(text.substr(at, length));
    at += length;
  }
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_character(
      text,
      [&](char c) {
        switch (c) {
          case '&':
            out += "&amp;";
            break;
          case '<':
            out += "&lt;";
            break;
          case '>':
            out += "&gt;";
            break;
          case '"':
            out += "&quot;";
            break;
          case '\'':
            out += "&#39;";
            break;
          default:
            out += c;
        }
      },
      [&](std::string_view sequence) { out += sequence; });
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for_each_character(
      text,
      [&](char c) {
        switch (c) {
          case '"':
            out += "\\\"";
            break;
          case '\\':
            out += "\\\\";
            break;
          case '\n':
            out += "\\n";
            break;
          case '<':
          case '>':
          case '&':
            out += fmt::format("\\u{:04x}", static_cast<int>(c));
            break;
          default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
              out += fmt::format("\\u{:04x}", static_cast<int>(c));
            } else {
              out += c;
            }
        }
      },
      [&](std::string_view sequence) {
        if (sequence == "\xE2\x80\xA8") {
          out += "\\u2028";
        } else if (sequence == "\xE2\x80\xA9") {
          out += "\\u2029";
        } else if (sequence == replacement) {
          out += "\\ufffd";
        } else {
          out += sequence;
        }
      });
  return out + "\"";
}

}  // namespace attn_trace::html
