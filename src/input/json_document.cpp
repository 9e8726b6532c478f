// Parsing text into a document with positions (json_document.hpp): the checks that come before any
// parser (empty, not UTF-8, binary), the parsers, and the messages that point into the text.
#include "json_document.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "attn_trace/core/text_width.hpp"
#include "fast_json.hpp"
#include "input_error.hpp"

namespace attn_trace::loader {
namespace {

// Text that holds nothing: no JSON arrived, or the file is empty.
void check_not_empty(std::string_view text, std::string_view file, DocumentKind kind) {
  // A UTF-8 byte-order mark (Windows editors write one) is not part of the text.
  const std::string_view body = text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text;
  if (body.find_first_not_of(" \t\r\n") != std::string_view::npos) return;
  const bool state_dict = kind == DocumentKind::state_dict;
  if (file == "<stdin>") {
    fail_file(file, "standard input was empty: it closed before any JSON arrived",
              state_dict ? state_dict_hint
                         : "docs/input-format.md describes the input; `attn-trace run` with "
                           "no file traces the bundled example");
  }
  if (state_dict) {
    fail_file(file,
              fmt::format("the file is {}, expected a JSON object of named weights (a state_dict)",
                          body.empty() ? "empty" : "only whitespace"),
              state_dict_hint);
  }
  fail_file(file,
            fmt::format("the file is {}, expected a JSON object with an \"input\" matrix",
                        body.empty() ? "empty" : "only whitespace"),
            "docs/input-format.md describes the input; `attn-trace run` with no file traces "
            "the bundled example");
}

// Files that are not text at all: UTF-16 (what PowerShell's > writes), or binary, such as a
// torch.save file, which is a zip archive.
void check_text(std::string_view text, std::string_view file) {
  // A byte-order mark, or zero bytes between ASCII characters: UTF-16 or UTF-32.
  const bool utf32 =
      text.starts_with(std::string_view("\xFF\xFE\0\0", 4)) ||
      text.starts_with(std::string_view("\0\0\xFE\xFF", 4)) ||
      (text.size() >= 4 && text[0] != '\0' && text.substr(1, 3) == std::string_view("\0\0\0", 3));
  const bool utf16 = !utf32 && (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") ||
                                (text.size() >= 2 && (text[0] == '\0') != (text[1] == '\0')));
  if (utf16 || utf32) {
    fail_file(file, fmt::format("expected UTF-8 text, found {}", utf32 ? "UTF-32" : "UTF-16"),
              "save it as UTF-8: PowerShell's > writes UTF-16, `Out-File -Encoding utf8` or "
              "Python's open(path, \"w\", encoding=\"utf-8\") write UTF-8");
  }
  const std::size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return;
  const bool archive = text.starts_with("PK\x03\x04") || text.starts_with("\x80\x02");
  fail_file(
      file,
      fmt::format("expected a JSON text file, found binary data (a zero byte at offset {})", nul),
      archive ? "this looks like a torch.save file (.pt, .pth): attn-trace reads JSON; "
                "dump the tensors as lists, as docs/input-format.md shows "
                "({k: v.tolist() for k, v in state_dict.items()})"
              : "attn-trace reads JSON text (docs/input-format.md)");
}

// Where the token that ends just before `end` begins: a string's opening quote, or the first
// character of a number or a literal (true, false, null).
std::size_t token_start(std::string_view text, std::size_t end) {
  if (end == 0 || end > text.size()) return std::min(end, text.size());
  std::size_t i = end;
  if (text[i - 1] == '"') {
    for (--i; i > 0; --i) {
      if (text[i - 1] == '"' && (i < 2 || text[i - 2] != '\\')) return i - 1;
    }
    return end;
  }
  const auto in_token = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+';
  };
  while (i > 0 && in_token(text[i - 1])) --i;
  return i < end ? i : end - 1;  // punctuation: the character itself
}

// The offset of the first byte of `text` that is not part of a valid UTF-8 sequence, if any.
std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

// Characters that come with text pasted from word processors and web pages, which look like
// JSON's own but are not: what they are, and where the first one stands in [from, to).
std::optional<std::pair<std::size_t, std::string>> lookalike(std::string_view text,
                                                             std::size_t from, std::size_t to) {
  constexpr std::pair<std::string_view, std::string_view> lookalikes[] = {
      {"\u201C",
       "“curly quotes” (from a word processor or a web page) are not JSON's quotes: use "
       "straight double quotes \""},
      {"\u201D",
       "“curly quotes” (from a word processor or a web page) are not JSON's quotes: use "
       "straight double quotes \""},
      {"\u2018", "‘curly quotes’ are not JSON's quotes: use straight double quotes \""},
      {"\u2019", "‘curly quotes’ are not JSON's quotes: use straight double quotes \""},
      {"\u00A0",
       "a non-breaking space (U+00A0, as web pages and word processors paste them) is "
       "not JSON whitespace: replace it with an ordinary space"},
      {"\u2212", "− (U+2212, the typographic minus) is not JSON's minus sign: write -"}};
  for (std::size_t i = from; i < std::min(to, text.size()); ++i) {
    for (const auto& [chars, why] : lookalikes) {
      if (text.substr(i).starts_with(chars)) return std::pair{i, std::string(why)};
    }
  }
  return std::nullopt;
}

// The characters nlohmann's lexer read last, when its message says: "…; last read: '<chars>'; …".
std::string last_read(const std::string& what) {
  const std::size_t at = what.find("last read: '");
  if (at == std::string::npos) return {};
  const std::size_t start = at + 12;
  const std::size_t end = what.find("'; ", start);
  std::string chars =
      what.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (end == std::string::npos && chars.ends_with('\'')) chars.pop_back();
  return chars;
}

// Whether `c` can continue a word or a number: what must not touch NaN, Infinity or -Infinity
// for them to stand as a number of their own.
bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' ||
         c == '-';
}

// Python's json.dump spells the numbers that are not finite NaN, Infinity and -Infinity, which
// this reader accepts (fast_json.hpp); a hint for the near misses at the start of `at`: nan, inf,
// -inf, +Infinity, or one of them run into more characters (NaNx). Empty for anything else.
std::string non_finite_hint(std::string_view at) {
  const std::size_t sign = at.starts_with('+') || at.starts_with('-') ? 1 : 0;
  std::size_t end = sign;
  while (end < at.size() && (std::isalnum(static_cast<unsigned char>(at[end])) || at[end] == '_')) {
    ++end;
  }
  const std::string_view word = at.substr(sign, end - sign);
  std::string lower(word);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string_view accepted =
      "attn-trace reads NaN, Infinity and -Infinity, spelled as Python's json.dump writes them";
  if (at.starts_with('+') && word == "Infinity") {
    return fmt::format("write Infinity without the plus sign: {}", accepted);
  }
  // Spelled right: what is wrong is something else.
  if ((word == "NaN" && sign == 0) || (word == "Infinity" && !at.starts_with('+'))) return {};
  for (std::string_view exact : {"NaN", "Infinity"}) {
    if (word.starts_with(exact) && word.size() > exact.size()) {
      return fmt::format(
          "{} is a number only on its own, like any number: is a comma missing "
          "after it, or a character too many?",
          exact);
    }
  }
  if (lower == "nan" || lower == "inf" || lower == "infinity" || lower == "infinite") {
    return fmt::format("JSON has no {}: {}; in attn_mask the string \"-inf\" blocks a key too",
                       excerpt(std::string(at.substr(0, end)), 20), accepted);
  }
  return {};
}

// What most likely went wrong, when nlohmann's parser says `what` at `offset` (the start of the
// token it stopped at); empty when there is no better guess than its own words. The first that
// fits wins: the more specific messages are tried before the general ones.
std::string parse_hint(std::string_view text, std::string_view file, std::size_t offset,
                       const std::string& what) {
  const auto says = [&](std::string_view words) { return what.find(words) != std::string::npos; };
  const std::string_view at = text.substr(offset);
  if (says("unexpected end of input")) {
    return file == "<stdin>" ? "standard input closed before every [ and { was closed: was the "
                               "program writing it cut short?"
                             : "the text ends before every [ and { is closed";
  }
  if (says("while parsing object - unexpected string literal")) {
    return "is a comma missing before this key?";
  }
  if (says("unexpected '}'; expected ']'")) return "is a ] missing before this }?";
  if (says("unexpected ']'; expected '}'")) {
    return "is this ] one too many, or is a } missing before it?";
  }
  if (says("while parsing object key - unexpected '['")) {
    return "a key was expected here: is a ] before it one too many, closing a matrix early?";
  }
  if (says("forbidden character after backslash")) {
    return "a backslash starts an escape in a JSON string (\\n, \\\"): write \\\\ for one "
           "backslash, as in \"C:\\\\Users\\\\me\", or use /";
  }
  if (at.starts_with('0') && offset + 1 < text.size() &&
      std::isdigit(static_cast<unsigned char>(text[offset + 1]))) {
    return "JSON numbers have no leading zeros: write 1, not 01";
  }
  if (says("U+000A (LF)")) {
    return "a string cannot span lines: write \\n for a line break inside a string";
  }
  if (at.starts_with('.')) {
    return "JSON numbers need a digit before the decimal point: write 0.5, not .5";
  }
  if (std::string hint = non_finite_hint(at); !hint.empty()) return hint;
  if (at.starts_with('+')) return "JSON numbers take no plus sign: write 1, not +1";
  if (says("while parsing array - unexpected") && says("expected ']'")) {
    return "is a comma missing between two elements?";
  }
  if (says("expected end of input")) {
    return "the JSON closed before this: is a bracket one too many?";
  }
  if (says("unexpected ']'") || says("unexpected '}'")) {
    const std::size_t before =
        offset == 0 ? std::string_view::npos : text.find_last_not_of(" \t\r\n", offset - 1);
    return before != std::string_view::npos && text[before] == ','
               ? "JSON allows no comma after the last element"
               : "is this bracket one too many, or is one missing before it?";
  }
  const std::string read = last_read(what);
  if (read.ends_with("/")) return "JSON has no comments; put notes in \"description\"";
  if (read.ends_with("'")) return "JSON strings use double quotes: \"like this\"";
  if (says("invalid string")) return "is a closing quote missing?";
  if (says("invalid literal")) {
    return "the only bare words in JSON are true, false and null; text needs double quotes";
  }
  return {};
}

// Text that nlohmann's parser refused: where, and why, as nearly as the text shows.
[[noreturn]] void fail_parse(std::string_view text, std::string_view file,
                             const json::parse_error& error) {
  // nlohmann reports the position of the last character it read; point at the token's start.
  const std::size_t last = std::min<std::size_t>(error.byte > 0 ? error.byte - 1 : 0, text.size());
  const std::size_t offset = token_start(text, std::min(last + 1, text.size()));

  // Not UTF-8 where the parser stopped: the file was saved in another encoding.
  if (const auto bad = first_invalid_utf8(text); bad && *bad <= last + 1) {
    fail_at(text, file, *bad,
            fmt::format("expected UTF-8 text, found the byte 0x{:02X}, which is not UTF-8 (was the "
                        "file saved as Latin-1 or Windows-1252?)",
                        static_cast<unsigned char>(text[*bad])),
            "save the file as UTF-8, the encoding JSON uses");
  }

  // nlohmann quotes what it read last, which can be a whole line of the file: keep its words
  // after "line L, column C: ".
  std::string what = excerpt(error.what(), 300);
  if (const std::size_t colon = what.find(": ", what.find("column")); colon != std::string::npos) {
    what = what.substr(colon + 2);
  }
  // A look-alike character just before or where the parser stopped: point at it.
  if (const auto pasted = lookalike(text, last >= 4 ? last - 4 : 0, last + 4)) {
    fail_at(text, file, pasted->first, what, pasted->second);
  }
  fail_at(text, file, offset, what, parse_hint(text, file, offset, what));
}

// Where `literal` first stands as a number: outside every string, not inside a longer number.
std::size_t find_number(std::string_view text, std::string_view literal) {
  const auto numeric = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
           c == 'e' || c == 'E';
  };
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (text.substr(i, literal.size()) == literal && (i == 0 || !numeric(text[i - 1])) &&
               (i + literal.size() == text.size() || !numeric(text[i + literal.size()]))) {
      return i;
    }
  }
  return std::string_view::npos;
}

// nlohmann throws out_of_range (without a position) for a number beyond double range, naming the
// literal: find it in the text to point at it.
[[noreturn]] void fail_number_range(std::string_view text, std::string_view file,
                                    const json::out_of_range& error) {
  const std::string what = error.what();
  const std::size_t open = what.find('\'');
  const std::size_t close = what.rfind('\'');
  const std::string literal =
      open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
  const std::size_t offset = literal.empty() ? std::string_view::npos : find_number(text, literal);
  const std::string message = fmt::format(
      "number {} is out of range: a double holds up to about 1.8e308", excerpt(literal, 40));
  if (offset == std::string_view::npos) fail_file(file, message);
  fail_at(text, file, offset, message, "");
}

// The refusals of the fast parser, reported at the place in the text where it stopped, and the
// duplicate key it noted.
void check_parsed(const detail::FastParse& parsed, std::string_view text, std::string_view file,
                  DocumentKind kind) {
  const bool state_dict = kind == DocumentKind::state_dict;
  if (parsed.too_many_keys_offset) {
    if (state_dict) {
      fail_at(text, file, *parsed.too_many_keys_offset,
              fmt::format("an object with more than {} keys, more than attn-trace reads",
                          detail::max_state_dict_keys),
              "dump only the attention layer's weights: json.dump({k: v.tolist() for k, v in "
              "layer.state_dict().items()}, f)");
    }
    if (kind == DocumentKind::arrays) {
      fail_at(text, file, *parsed.too_many_keys_offset,
              fmt::format("an object with more than {} keys, more than the tensors of one "
                          "attention layer",
                          detail::max_object_keys),
              "save the tensors of one attention layer: q, k, v, scores, weights, output, …");
    }
    fail_at(text, file, *parsed.too_many_keys_offset,
            fmt::format("an object with more than {} keys; no valid input object has more than 17 "
                        "(the top level, and the weights of one layer)",
                        detail::max_object_keys),
            "is this a whole model's state_dict? Give it as a file of its own: --weights FILE, "
            "with --weights-prefix to pick a layer");
  }
  if (parsed.too_deep_offset) {
    fail_at(text, file, *parsed.too_deep_offset,
            kind == DocumentKind::arrays
                ? fmt::format("nested more than {} levels deep here; no array check compares "
                              "has more than 5 axes (weighted_values' (B, H, L, S, d)), and a "
                              "trace nests its numbers 9 levels deep",
                              detail::max_input_depth)
                : fmt::format("nested more than {} levels deep here; no valid {} nests deeper "
                              "than 5 (a (1, 1, E) bias_k inside \"weights\")",
                              detail::max_input_depth, state_dict ? "weights file" : "input"),
            "is a run of [ or { repeated by mistake?");
  }
  // JSON lets a key appear twice in one object and keeps one value: a weight written twice would
  // silently lose a copy.
  if (parsed.duplicate_key) {
    fail_at(text, file, parsed.duplicate_offset,
            fmt::format("duplicate key \"{}\": JSON keeps only one value, so the other would be "
                        "silently dropped",
                        excerpt(*parsed.duplicate_key)),
            "keep one of them");
  }
}

// `text` with every NaN, Infinity and -Infinity that stands as a number (outside strings, touching
// no other word character) replaced by a number of the same length, such as 0.0 for NaN; nothing
// when it holds none. nlohmann's parser knows no NaN: given this text, it stops at the first
// mistake that is not one of them, at the line and column where it stands in the original.
std::optional<std::string> with_finite_stand_ins(std::string_view text) {
  std::optional<std::string> out;
  const auto stands_alone = [&](std::size_t start, std::size_t end) {
    return (start == 0 || !word_char(text[start - 1])) &&
           (end == text.size() || !word_char(text[end]));
  };
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    for (std::string_view word : {"NaN", "Infinity", "-Infinity"}) {
      if (!text.substr(i).starts_with(word) || !stands_alone(i, i + word.size())) continue;
      if (!out) out.emplace(text);
      // "0.0", "0.000000", "-0.000000": valid numbers exactly as long as the words.
      const std::size_t sign = word.starts_with('-') ? 1 : 0;
      std::string stand_in(word.size(), '0');
      if (sign == 1) stand_in[0] = '-';
      stand_in[sign + 1] = '.';
      out->replace(i, word.size(), stand_in);
      i += word.size() - 1;
      break;
    }
  }
  return out;
}

// Frees `value` from the leaves up. nlohmann's destructor moves every element of an array onto a
// stack of its own before freeing it, which for millions of numbers takes longer than reading
// them; emptying the innermost arrays first leaves it nothing to move. The recursion goes no
// deeper than detail::max_input_depth, and need not: the fast parser refuses text that nests
// deeper before it builds anything, and nlohmann's parser builds a document only from text the
// fast one declined, which it refuses too. Should a deeper document ever come, what lies below
// that depth is left to nlohmann's destructor, which needs no recursion.
void empty_leaves_first(json& value, int depth) {
  if (!value.is_array() && !value.is_object()) return;
  if (depth < detail::max_input_depth) {
    for (json& child : value) empty_leaves_first(child, depth + 1);
  }
  if (value.is_array()) value.get_ref<json::array_t&>().clear();
}

}  // namespace

json parse_document(std::string_view text, std::string_view file, DocumentKind kind) {
  check_not_empty(text, file, kind);
  check_text(text, file);
  // The fast parser reads valid JSON; for anything else, nlohmann's parser explains what is wrong.
  std::optional<detail::FastParse> parsed =
      detail::parse_fast(text, kind == DocumentKind::state_dict ? detail::max_state_dict_keys
                                                                : detail::max_object_keys);
  if (!parsed) {
    // nlohmann's parser reads the text with its NaN and ±Infinity replaced, only to find the
    // mistake: the document must come from the text as written.
    const std::optional<std::string> stand_ins = with_finite_stand_ins(text);
    const std::string_view diagnosed = stand_ins ? std::string_view(*stand_ins) : text;
    try {
      json document = json::parse(diagnosed.begin(), diagnosed.end());
      // Both parsers accept the same JSON, so this is not reached: were it ever, the document
      // would hold stand-ins where the text has NaN.
      if (stand_ins) {
        fail_file(file, "the two JSON parsers of attn-trace disagree about this text",
                  "this is a bug in attn-trace: please report it, with the file");
      }
      parsed = detail::FastParse{std::move(document), std::nullopt, 0, std::nullopt, std::nullopt};
    } catch (const json::parse_error& error) {
      fail_parse(text, file, error);
    } catch (const json::out_of_range& error) {
      fail_number_range(text, file, error);
    }
  }
  check_parsed(*parsed, text, file, kind);
  return std::move(parsed->document);
}

void dismantle(json& document) {
  empty_leaves_first(document, 0);
}

}  // namespace attn_trace::loader
