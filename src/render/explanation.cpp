// The two renderers of an explanation (explanation.hpp): the arithmetic of one cell as a learner
// writes it by hand, its long sums elided and wrapped to 80 columns; or the same as JSON data.
#include "attn_trace/render/explanation.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"

namespace attn_trace {
namespace {

constexpr std::size_t max_terms_shown = 8;  // more are shown as the first 4, …, the last 3
constexpr std::size_t line_width = 80;

// A number as the tutorials write it: at most `precision` decimals, no trailing zeros, − for minus.
std::string num(double v, int precision) {
  if (const auto symbol = non_finite_text(v, Spelling::symbols)) return std::string(*symbol);
  std::string text = fmt::format("{:.{}f}", v, precision);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  if (text.starts_with('-')) text = "−" + text.substr(1);
  return text;
}

// A number inside a product or after a +: negatives in parentheses.
std::string operand(double v, int precision) {
  const std::string text = num(v, precision);
  return text.starts_with("−") ? "(" + text + ")" : text;
}

// The items joined by `sep`, the middle elided when there are too many, in lines of at most 80
// columns: the first line starts with `first`, the others with as many spaces and break before a
// separator.
std::string joined(const std::vector<std::string>& items, std::string_view sep,
                   std::string_view first) {
  std::vector<std::string> shown = items;
  if (items.size() > max_terms_shown) {
    shown.assign(items.begin(), items.begin() + 4);
    shown.emplace_back("…");
    shown.insert(shown.end(), items.end() - 3, items.end());
  }
  const std::string indent(display_width(first), ' ');
  std::string text(first), line(first);
  for (std::size_t k = 0; k < shown.size(); ++k) {
    std::string piece = k == 0 ? shown[k] : std::string(sep) + shown[k];
    if (k > 0 && display_width(line) + display_width(piece) > line_width) {
      // A comma stays at the end of its line; an operator starts the next.
      if (sep.starts_with(',')) {
        text += ",";
        piece = shown[k];
      } else {
        piece.erase(0, piece.find_first_not_of(' '));
      }
      text += "\n" + indent + piece;
      line = indent + piece;
    } else {
      text += piece;
      line += piece;
    }
  }
  return text;
}

// A note in lines of at most 80 columns.
std::string note_lines(std::string_view note) {
  std::string text = "  note:", line = text;
  for (std::size_t from = 0; from < note.size();) {
    const std::size_t space = std::min(note.find(' ', from), note.size());
    const std::string word(note.substr(from, space - from));
    from = space + 1;
    if (display_width(line) + 1 + display_width(word) > line_width) {
      text += "\n        " + word;
      line = "        " + word;
    } else {
      text += " " + word;
      line += " " + word;
    }
  }
  return text;
}

// "0.2×(−0.3)": the numbers multiplied to make a term.
std::string product_text(const Term& t, int precision) {
  std::vector<std::string> factors;
  for (double f : t.factors) factors.push_back(operand(f, precision));
  return fmt::format("{}", fmt::join(factors, "×"));
}

}  // namespace

void render_explanation_text(const Explanation& e, int precision, std::ostream& out) {
  std::vector<std::string> labels, values;
  for (const Term& t : e.terms) {
    labels.push_back(t.label);
    values.push_back(e.combine != Combine::ratio && t.factors.size() > 1
                         ? product_text(t, precision)
                         : operand(t.value, precision));
  }
  fmt::print(out, "{}.{}[{}]\n", stage_name(e.stage), e.tensor, fmt::join(e.index_labels, ","));
  fmt::print(out, "  {}\n", e.formula);
  const std::string result = num(e.computed, precision);
  switch (e.combine) {
    case Combine::given:
      fmt::print(out, "  = {}\n", result);
      break;
    case Combine::copy:
      fmt::print(out, "  = {} = {}\n", labels.front(), result);
      break;
    case Combine::sum:
    case Combine::product: {
      const std::string_view sep = e.combine == Combine::sum ? " + " : " × ";
      fmt::print(out, "{}\n{}\n  = {}\n", joined(labels, sep, "  = "), joined(values, sep, "  = "),
                 result);
      break;
    }
    case Combine::ratio: {
      // The exp terms, each as e^(its exponent), then the numerator over their sum.
      double total = 0;
      std::vector<std::string> exps;
      for (const Term& t : e.terms) {
        total += t.value;
        exps.push_back(fmt::format("e^{} = {}", operand(t.factors.front(), precision),
                                   num(t.value, precision)));
      }
      const std::string top = num(e.terms[e.numerator].value, precision);
      fmt::print(out, "{}\n{}\n", joined(labels, ", ", "  terms: "),
                 joined(exps, ", ", "         "));
      fmt::print(out, "{})\n  = {} / {}\n  = {}\n", joined(values, " + ", "  = " + top + " / ("),
                 top, num(total, precision), result);
      break;
    }
  }
  for (const std::string& note : e.notes) fmt::print(out, "{}\n", note_lines(note));
  if (explanation_matches(e)) {
    fmt::print(out, "  ✓ the trace holds the same number ({}, equal to 12 digits)\n",
               num(e.result, precision));
  } else {
    fmt::print(out, "  ✗ the trace holds {}, not {}\n", num(e.result, 12), num(e.computed, 12));
  }
}

void render_explanation_json(const Explanation& e, std::ostream& out) {
  using json = nlohmann::ordered_json;
  // JSON has no inf or nan: they go as strings, as in the trace export.
  const auto number = [](double v) -> json {
    if (const auto word = non_finite_text(v, Spelling::json)) return std::string(*word);
    return v;
  };
  json doc;
  doc["stage"] = std::string(stage_name(e.stage));
  doc["tensor"] = e.tensor;
  doc["index"] = e.index;
  doc["labels"] = e.index_labels;
  doc["formula"] = e.formula;
  doc["combine"] = std::string(combine_name(e.combine));
  json terms = json::array();
  for (const Term& t : e.terms) {
    json factors = json::array();
    for (double f : t.factors) factors.push_back(number(f));
    terms.push_back(json{{"label", t.label}, {"factors", factors}, {"value", number(t.value)}});
  }
  doc["terms"] = std::move(terms);
  if (e.combine == Combine::ratio) doc["numerator"] = e.numerator;
  doc["notes"] = e.notes;
  doc["computed"] = number(e.computed);
  doc["result"] = number(e.result);
  doc["matches"] = explanation_matches(e);
  out << doc.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

}  // namespace attn_trace
