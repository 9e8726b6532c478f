// A stage's formula as TeX math (tex_math.hpp).
#include "tex_math.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace attn_trace::walkthrough {
namespace {

// Multi-letter names that are math in the formulas (tensors, functions, sizes): every other word
// is English and set as text.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> math_words = {{
    {"scores", "\\mathrm{scores}"},
    {"scaled", "\\mathrm{scaled}"},
    {"masked", "\\mathrm{masked}"},
    {"weights", "\\mathrm{weights}"},
    {"weighted", "\\mathrm{weighted}"},
    {"context", "\\mathrm{context}"},
    {"output", "\\mathrm{output}"},
    {"softmax", "\\operatorname{softmax}"},
    {"exp", "\\exp"},
    {"max", "\\max"},
    {"kdim", "\\mathrm{kdim}"},
    {"vdim", "\\mathrm{vdim}"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 15> symbols = {{
    {"·", "\\cdot "},
    {"×", "\\times "},
    {"−", "-"},
    {"∞", "\\infty "},
    {"Σ", "\\sum"},
    {"…", "\\ldots "},
    {"⊙", "\\odot "},
    {"→", "\\to "},
    {"←", "\\leftarrow "},
    {"≤", "\\le "},
    {"≥", "\\ge "},
    {"ᵀ", "^{\\top}"},
    {"∈", "\\in "},
    {"⋮", "\\vdots "},
    {"√", ""},  // handled apart: it takes the next atom as its argument
}};

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word_char(char c) {
  return is_letter(c) || is_digit(c) || c == '_';
}

std::string escaped_name(std::string_view name) {
  std::string out;
  for (char c : name) out += c == '_' ? std::string("\\_") : std::string(1, c);
  return out;
}

// An identifier of the formulas as math: "W_q" → W_{q}, "scores_h" → \mathrm{scores}_{h},
// "attn_mask" → \mathrm{attn\_mask}; or nothing when it is an English word.
std::optional<std::string> math_identifier(std::string_view word) {
  const auto upright = [](std::string_view base) -> std::optional<std::string> {
    if (base.size() == 1) return std::string(base);
    for (const auto& [name, tex] : math_words) {
      if (name == base) return std::string(tex);
    }
    return std::nullopt;
  };
  if (const std::size_t underscore = word.find('_'); underscore != std::string_view::npos) {
    const std::string_view base = word.substr(0, underscore), sub = word.substr(underscore + 1);
    const auto base_tex = upright(base);
    if (base_tex && !sub.empty() && sub.size() <= 2 && sub.find('_') == std::string_view::npos) {
      return *base_tex + "_{" + std::string(sub) + "}";
    }
    return "\\mathrm{" + escaped_name(word) + "}";
  }
  if (word == "a") return std::nullopt;  // the article, never a variable here
  return upright(word);
}

std::string escaped_punctuation(char c) {
  switch (c) {
    case '{':
      return "\\{";
    case '}':
      return "\\}";
    case '%':
      return "\\%";
    case '#':
      return "\\#";
    case '&':
      return "\\&";
    case '$':
      return "\\$";
    case '~':
      return "\\sim ";
    case '^':
      return "\\hat{}";
    case '\\':
      return "\\backslash ";
    case '|':
      return "\\mid ";
    default:
      return std::string(1, c);
  }
}

// The length of the UTF-8 sequence that starts with `lead`.
std::size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// The walkthrough's Unicode in LaTeX text.
constexpr std::array<std::pair<std::string_view, std::string_view>, 27> text_symbols = {{
    {"€", "\\texteuro{}"},
    {"™", "\\texttrademark{}"},
    {"·", "\\textperiodcentered{}"},
    {"×", "\\texttimes{}"},
    {"÷", "\\textdiv{}"},
    {"→", "\\ensuremath{\\to}"},
    {"←", "\\ensuremath{\\leftarrow}"},
    {"−", "\\ensuremath{-}"},
    {"∞", "\\ensuremath{\\infty}"},
    {"√", "\\ensuremath{\\surd}"},
    {"Σ", "\\ensuremath{\\Sigma}"},
    {"ᵀ", "\\ensuremath{^{\\top}}"},
    {"…", "\\ldots{}"},
    {"⋮", "\\ensuremath{\\vdots}"},
    {"⋱", "\\ensuremath{\\ddots}"},
    {"✓", "\\ensuremath{\\checkmark}"},
    {"✗", "\\ensuremath{\\times}"},
    {"≤", "\\ensuremath{\\le}"},
    {"≥", "\\ensuremath{\\ge}"},
    {"⊙", "\\ensuremath{\\odot}"},
    {"±", "\\ensuremath{\\pm}"},
    {"–", "\\textendash{}"},
    {"—", "\\textemdash{}"},
    {"‘", "\\textquoteleft{}"},
    {"’", "\\textquoteright{}"},
    {"“", "\\textquotedblleft{}"},
    {"”", "\\textquotedblright{}"},
}};

// Greek letters, which a learner may use as tokens, as math symbols (T1 fonts have none); those
// that look like Latin ones as those.
constexpr std::array<std::pair<std::string_view, std::string_view>, 34> greek = {{
    {"α", "\\alpha"},   {"β", "\\beta"},  {"γ", "\\gamma"}, {"δ", "\\delta"},    {"ε", "\\epsilon"},
    {"ζ", "\\zeta"},    {"η", "\\eta"},   {"θ", "\\theta"}, {"ι", "\\iota"},     {"κ", "\\kappa"},
    {"λ", "\\lambda"},  {"μ", "\\mu"},    {"ν", "\\nu"},    {"ξ", "\\xi"},       {"ο", "o"},
    {"π", "\\pi"},      {"ρ", "\\rho"},   {"σ", "\\sigma"}, {"ς", "\\varsigma"}, {"τ", "\\tau"},
    {"υ", "\\upsilon"}, {"φ", "\\phi"},   {"χ", "\\chi"},   {"ψ", "\\psi"},      {"ω", "\\omega"},
    {"Γ", "\\Gamma"},   {"Δ", "\\Delta"}, {"Θ", "\\Theta"}, {"Λ", "\\Lambda"},   {"Ξ", "\\Xi"},
    {"Π", "\\Pi"},      {"Φ", "\\Phi"},   {"Ψ", "\\Psi"},   {"Ω", "\\Omega"},
}};

// Whether pdflatex's utf8 input with T1 fonts sets this character (2-byte UTF-8, `code` its code
// point): Latin-1's letters and Latin Extended-A's (Polish, Czech, Turkish, Hungarian, …) but the
// few T1 lacks, and Romanian's comma-below letters.
bool t1_has(std::uint32_t code) {
  // Latin-1's signs (¡ £ § ° ± ² µ ¶ ½ ¿ …, set from TS1 by textcomp) and letters; not the no-break
  // and soft hyphens, which would change how a line breaks, nor × ÷ (text_symbols).
  if (code >= 0xA1 && code <= 0xFF) return code != 0xAD && code != 0xD7 && code != 0xF7;
  if (code >= 0x100 && code <= 0x17F) {
    return code != 0x126 && code != 0x127 && code != 0x138 && code != 0x13F && code != 0x140 &&
           code != 0x149 && code != 0x166 && code != 0x167 && code != 0x17F;
  }
  return code >= 0x218 && code <= 0x21B;
}

}  // namespace

std::string tex_text(std::string_view text) {
  std::string out;
  // A word longer than this (a URL, a path, a long identifier) may break anywhere after it, rather
  // than run off the page: TeX breaks lines only at spaces and hyphens.
  constexpr std::size_t longest_word = 24;
  std::size_t word = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    word = c == ' ' || c == '\n' || c == '\t' ? 0 : word + 1;
    if (word > longest_word) {
      out += "\\allowbreak{}";
      word = 1;
    }
    if (c < 0x80) {
      ++i;
      const char next = i < text.size() ? text[i] : '\0';
      switch (c) {
        case '\\':
          out += "\\textbackslash{}";
          break;
        case '-':  // a minus sign before a number; never "--" or "---", which T1 joins into dashes
          out += (next >= '0' && next <= '9') || next == '.' ? "\\textminus{}"
                 : next == '-'                               ? "-{}"
                                                             : "-";
          break;
        case '\'':  // T1 sets it as a closing quote, and '' as a double one
          out += "\\textquotesingle{}";
          break;
        case ',':  // ,, would become a low double quote
          out += next == ',' ? ",{}" : ",";
          break;
        case '{':
        case '}':
        case '$':
        case '&':
        case '#':
        case '_':
        case '%':
          out += '\\';
          out += static_cast<char>(c);
          break;
        case '^':
          out += "\\textasciicircum{}";
          break;
        case '~':
          out += "\\textasciitilde{}";
          break;
        case '<':
          out += "\\textless{}";
          break;
        case '>':
          out += "\\textgreater{}";
          break;
        case '|':
          out += "\\textbar{}";
          break;
        case '"':
          out += "\\textquotedbl{}";
          break;
        case '`':  // T1 sets it as an opening quote
          out += "\\textasciigrave{}";
          break;
        case '\n':
        case '\t':
          out += ' ';
          break;
        default:
          if (c >= 0x20 && c != 0x7F) out += static_cast<char>(c);  // no control character
      }
      // A long name ("nn.MultiheadAttention(embed_dim=2,") may break after its punctuation.
      // Not inside a number: "0.4016" stays whole.
      if ((c == '_' || c == '/' || c == ',' || c == '=' ||
           (c == '.' && i < text.size() && is_letter(text[i]))) &&
          i < text.size() && text[i] != ' ') {
        out += "\\allowbreak{}";
      }
      continue;
    }
    const std::size_t length = std::min(utf8_length(c), text.size() - i);
    const std::string_view symbol = text.substr(i, length);
    i += length;
    // "?{}": a "?" before a backtick would be T1's ligature for "¿".
    std::string tex = "?{}";
    for (const auto& [unicode, command] : text_symbols) {
      if (unicode == symbol) tex = std::string(command);
    }
    for (const auto& [unicode, command] : greek) {
      if (unicode == symbol) tex = "\\ensuremath{" + std::string(command) + "}";
    }
    if (tex == "?{}" && length == 2) {
      const auto code = static_cast<std::uint32_t>(((c & 0x1F) << 6) |
                                                   (static_cast<unsigned char>(symbol[1]) & 0x3F));
      if (t1_has(code)) tex = std::string(symbol);
    }
    out += tex;
  }
  return out;
}

std::string formula_tex(std::string_view formula) {
  std::string out;
  std::string text;  // English words waiting to be set as one \text{…}
  bool sqrt_pending = false;
  // `next`: the math that follows, which decides the space after the words ("token;" not
  // "token ;").
  const auto flush_text = [&](std::string_view next = {}) {
    if (text.empty()) return;
    // The spaces around the words are kept inside \text: math mode would drop them.
    // No space at the start, nor just inside an opening bracket: "(the same as …)".
    const bool flush_left = out.empty() || out.back() == '(' || out.back() == '[';
    const bool flush_right =
        !next.empty() && std::string_view(";,)]:.").find(next[0]) != std::string_view::npos;
    out += "\\text{" + std::string(flush_left ? "" : " ") + text + (flush_right ? "}" : " }");
    text.clear();
  };
  const auto math = [&](const std::string& atom) {
    flush_text(atom);
    if (sqrt_pending && !atom.empty() && atom != " ") {
      out += "\\sqrt{" + atom + "}";
      sqrt_pending = false;
      return;
    }
    out += atom;
  };

  for (std::size_t i = 0; i < formula.size();) {
    const char c = formula[i];
    if (c == ' ') {
      std::size_t j = i;
      while (j < formula.size() && formula[j] == ' ') ++j;
      // Between two English words a space belongs to the text; a run of them separates formulas.
      bool next_is_text = false;
      if (j < formula.size() && is_letter(formula[j])) {
        std::size_t k = j;
        while (k < formula.size() && is_word_char(formula[k])) ++k;
        next_is_text = !math_identifier(formula.substr(j, k - j));
      }
      if (!text.empty() && j - i == 1 && next_is_text) {
        text += ' ';
        i = j;
        continue;
      }
      if (j - i >= 2) {
        math("\\qquad ");
      } else if (i > 0 && (formula[i - 1] == ';' || formula[i - 1] == ',') && !next_is_text) {
        math("\\ ");  // "K_h, V_h": math mode would drop the space after the comma
      }
      i = j;
      continue;
    }
    if (is_letter(c)) {
      std::size_t j = i;
      while (j < formula.size() && is_word_char(formula[j])) ++j;
      const std::string_view word = formula.substr(i, j - i);
      if (const auto tex = math_identifier(word)) {
        math(*tex);
      } else {
        if (!text.empty() && text.back() != ' ') text += ' ';
        text += std::string(word);
      }
      i = j;
      continue;
    }
    if (is_digit(c)) {
      std::size_t j = i;
      while (j < formula.size() && (is_digit(formula[j]) || formula[j] == '.')) ++j;
      while (j > i + 1 && formula[j - 1] == '.') --j;  // a sentence's full stop
      math(std::string(formula.substr(i, j - i)));
      i = j;
      continue;
    }
    if (c == '"') {  // a quoted word: scale "none"
      const std::size_t end = formula.find('"', i + 1);
      const std::size_t stop = end == std::string_view::npos ? formula.size() : end + 1;
      std::string quoted;
      for (char q : formula.substr(i + 1, stop - i - 2 + (end == std::string_view::npos))) {
        quoted += is_word_char(q) || q == ' ' ? std::string(1, q) : std::string();
      }
      if (!text.empty()) text += ' ';
      text += '"' + quoted + '"';
      i = stop;
      continue;
    }
    if (c == '_' && i + 1 < formula.size() && is_word_char(formula[i + 1])) {  // Σ_k
      std::size_t j = i + 1;
      while (j < formula.size() && (is_letter(formula[j]) || is_digit(formula[j]))) ++j;
      math("_{" + std::string(formula.substr(i + 1, j - i - 1)) + "}");
      i = j;
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x80) {
      math(escaped_punctuation(c));
      ++i;
      continue;
    }
    const std::size_t length = utf8_length(static_cast<unsigned char>(c));
    const std::string_view symbol = formula.substr(i, length);
    i += length;
    if (symbol == "√") {
      flush_text();
      sqrt_pending = true;
      continue;
    }
    std::string tex = "?";
    for (const auto& [unicode, command] : symbols) {
      if (unicode == symbol) tex = std::string(command);
    }
    math(tex);
  }
  flush_text();
  if (sqrt_pending) out += "\\sqrt{}";
  return out;
}

}  // namespace attn_trace::walkthrough
