// Recursive descent over RFC 8259 JSON, strict but for one extension: the numbers NaN, Infinity
// and -Infinity, which Python's json.dump writes by default. Anything it does not accept,
// nlohmann's parser gets to explain. Numbers: std::from_chars (exact, like strtod, several times
// faster).
#include "fast_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "attn_trace/core/text_width.hpp"

namespace attn_trace::detail {
namespace {

using json = nlohmann::ordered_json;

constexpr int max_depth = max_input_depth;

class Parser {
 public:
  Parser(std::string_view text, std::size_t max_keys) : text_(text), max_keys_(max_keys) {}

  std::optional<FastParse> parse() {
    // A UTF-8 byte-order mark, as Windows editors write it, is not part of the document.
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") at_ = 3;
    FastParse result;
    if (!value(result.document, 0)) {
      if (!too_deep_ && !too_many_keys_) return std::nullopt;
      // Deeper or wider than any input: no parser needs to look further (and a recursive one must
      // not, nor one that takes quadratic time).
      result.document = json();
      (too_deep_ ? result.too_deep_offset : result.too_many_keys_offset) = at_;
      return result;
    }
    skip_space();
    if (at_ != text_.size()) return std::nullopt;
    result.duplicate_key = std::move(duplicate_key_);
    result.duplicate_offset = duplicate_offset_;
    return result;
  }

 private:
  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t')) {
      ++at_;
    }
  }

  bool value(json& out, int depth) {
    skip_space();
    if (at_ >= text_.size()) return false;
    if (depth > max_depth) {
      too_deep_ = true;
      return false;
    }
    switch (text_[at_]) {
      case '{':
        return object(out, depth);
      case '[':
        return array(out, depth);
      case '"': {
        std::string s;
        if (!string(s)) return false;
        out = std::move(s);
        return true;
      }
      case 't':
        return literal("true", out, true);
      case 'f':
        return literal("false", out, false);
      case 'n':
        return literal("null", out, nullptr);
      case 'N':
        return literal("NaN", out, std::numeric_limits<double>::quiet_NaN());
      case 'I':
        return literal("Infinity", out, std::numeric_limits<double>::infinity());
      default:
        return number([&](auto n) { out = n; });
    }
  }

  template <typename T>
  bool literal(std::string_view word, json& out, T v) {
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    out = v;
    return true;
  }

  bool object(json& out, int depth) {
    ++at_;  // {
    out = json::object();
    skip_space();
    if (at_ < text_.size() && text_[at_] == '}') {
      ++at_;
      return true;
    }
    for (std::size_t keys = 1;; ++keys) {
      skip_space();
      const std::size_t key_at = at_;
      // ordered_json finds a key by looking at every key before it: many thousands of keys would
      // take quadratic time, and no input object has more than a few dozen.
      if (keys > max_keys_) {
        too_many_keys_ = true;
        return false;
      }
      std::string key;
      if (at_ >= text_.size() || text_[at_] != '"' || !string(key)) return false;
      skip_space();
      if (at_ >= text_.size() || text_[at_] != ':') return false;
      ++at_;
      json item;
      if (!value(item, depth + 1)) return false;
      if (out.contains(key)) {
        if (!duplicate_key_) duplicate_key_ = key, duplicate_offset_ = key_at;
      } else {
        out.emplace(std::move(key), std::move(item));
      }
      skip_space();
      if (at_ >= text_.size()) return false;
      if (text_[at_] == ',') {
        ++at_;
        continue;
      }
      if (text_[at_] != '}') return false;
      ++at_;
      return true;
    }
  }

  bool array(json& out, int depth) {
    ++at_;  // [
    json::array_t items;
    items.reserve(flat_length());
    skip_space();
    if (at_ < text_.size() && text_[at_] == ']') {
      ++at_;
      out = std::move(items);
      return true;
    }
    while (true) {
      // Numbers, most of any input, are built in place.
      skip_space();
      if (at_ < text_.size() && (text_[at_] == '-' || (text_[at_] >= '0' && text_[at_] <= '9'))) {
        if (!number([&](auto n) { items.emplace_back(n); })) return false;
      } else {
        items.emplace_back();
        if (!value(items.back(), depth + 1)) return false;
      }
      skip_space();
      if (at_ >= text_.size()) return false;
      if (text_[at_] == ',') {
        ++at_;
        continue;
      }
      if (text_[at_] != ']') return false;
      ++at_;
      out = std::move(items);
      return true;
    }
  }

  // How many elements the array starting at at_ has, when they are all numbers (a matrix's row):
  // counted ahead, so that its elements are built in place, once, rather than moved each time the
  // list outgrows its memory (a quarter of the parse time of a BERT-sized input). 0 for anything
  // else. Invalid text (",,,,") may give too many, but never more than one element for two
  // characters: no more memory than the valid text of that length would take.
  [[nodiscard]] std::size_t flat_length() const {
    std::size_t commas = 0;
    for (std::size_t i = at_; i < text_.size(); ++i) {
      switch (text_[i]) {
        case ',':
          ++commas;
          break;
        case ']':
          return std::min(commas + 1, (i - at_ + 1) / 2);
        case '[':
        case '{':
        case '"':
          return 0;
        default:
          break;
      }
    }
    return 0;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, as an integer when it is one and fits; or
  // -Infinity, as Python writes float('-inf').
  template <typename Store>
  bool number(Store&& store) {
    const std::size_t start = at_;
    if (text_.substr(at_, 9) == "-Infinity") {
      at_ += 9;
      store(-std::numeric_limits<double>::infinity());
      return true;
    }
    const auto digit = [&] { return at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9'; };
    const auto digits = [&] {
      if (!digit()) return false;
      while (digit()) ++at_;
      return true;
    };
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    if (at_ < text_.size() && text_[at_] == '0') {
      ++at_;
    } else if (!digits()) {
      return false;
    }
    bool integral = true;
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      integral = false;
      if (!digits()) return false;
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      integral = false;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      if (!digits()) return false;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + at_;
    if (integral) {
      if (*first == '-') {
        std::int64_t i = 0;
        if (std::from_chars(first, last, i).ec == std::errc()) return store(i), true;
      } else {
        std::uint64_t u = 0;
        if (std::from_chars(first, last, u).ec == std::errc()) return store(u), true;
      }
    }
    double d = 0;
    const auto [end, ec] = std::from_chars(first, last, d);
    if (end != last) return false;
    if (ec == std::errc::result_out_of_range) {
      // Too small is 0 (or the nearest subnormal), as strtod and so nlohmann read it; too large
      // is an error that nlohmann's parser reports.
      d = std::strtod(std::string(first, last).c_str(), nullptr);
      if (!std::isfinite(d)) return false;
    } else if (ec != std::errc()) {
      return false;
    }
    store(d);
    return true;
  }

  // A string with its escapes decoded; the text must be valid UTF-8 without raw control bytes.
  bool string(std::string& out) {
    ++at_;  // "
    while (at_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!escape(out)) return false;
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++at_;
      } else if (!utf8_sequence(out)) {
        return false;
      }
    }
    return false;
  }

  bool escape(std::string& out) {
    if (++at_ >= text_.size()) return false;
    const char c = text_[at_++];
    switch (c) {
      case '"':
        out += '"';
        return true;
      case '\\':
        out += '\\';
        return true;
      case '/':
        out += '/';
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    std::uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair: \uD83D\uDE00
      std::uint32_t low = 0;
      if (text_.substr(at_, 2) != "\\u") return false;
      at_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return false;
    }
    append_utf8(out, cp);
    return true;
  }

  bool hex4(std::uint32_t& cp) {
    if (at_ + 4 > text_.size()) return false;
    const auto [end, ec] = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, cp, 16);
    if (ec != std::errc() || end != text_.data() + at_ + 4) return false;
    at_ += 4;
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // One well-formed multi-byte UTF-8 character (no overlong forms, surrogates or > U+10FFFF).
  bool utf8_sequence(std::string& out) {
    const std::size_t length = utf8_length(text_, at_);
    if (length < 2) return false;
    out.append(text_.substr(at_, length));
    at_ += length;
    return true;
  }

  std::string_view text_;
  std::size_t max_keys_;
  std::size_t at_ = 0;
  std::optional<std::string> duplicate_key_;
  std::size_t duplicate_offset_ = 0;
  bool too_deep_ = false;       // gave up because the text nests deeper than max_depth
  bool too_many_keys_ = false;  // gave up at an object with more than max_keys_ keys
};

}  // namespace

std::optional<FastParse> parse_fast(std::string_view text, std::size_t max_keys) {
  return Parser(text, max_keys).parse();
}

}  // namespace attn_trace::detail
