// The check report as text and as JSON (check.hpp).
#include "attn_trace/render/check.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "text_writer.hpp"

namespace attn_trace {
namespace {

// A number as the walkthrough writes it (format_number), with − for minus, as explain writes it.
std::string num(double v, int precision) {
  std::string text = walkthrough::format_number(v, precision);
  if (text.starts_with('-')) text = "−" + text.substr(1);
  return text;
}

// An error in the tolerance's terms: "3.1e-08".
std::string error_text(double e) {
  return fmt::format("{:.2g}", e);
}

std::string tolerance_text(const Tolerance& t) {
  return fmt::format("rtol {:g}, atol {:g}", t.rtol, t.atol);
}

std::string place(const TensorCheck& t) {
  return fmt::format("{}.{}", stage_name(t.stage), t.tensor);
}

std::string padded(const std::string& text, std::size_t width) {
  const std::size_t w = display_width(text);
  return text + std::string(w < width ? width - w : 0, ' ');
}

// The token of position i along `axis` in batch b, if the trace labels that axis.
const std::string* token(const CheckReport& report, Axis axis, std::size_t b, std::size_t i) {
  const auto& lists = axis == Axis::query ? report.tokens : report.kv_tokens;
  if (axis != Axis::query && axis != Axis::key) return nullptr;
  if (lists.empty()) return nullptr;
  const auto& list = lists[std::min(b, lists.size() - 1)];
  return i < list.size() ? &list[i] : nullptr;
}

// The explain CELL of a cell: "scaling.scaled[0,2]".
std::string cell_text(const TensorCheck& t, const std::vector<std::size_t>& index) {
  return fmt::format("{}[{}]", place(t), fmt::join(index, ","));
}

void write_row(const CheckReport& report, std::size_t k, std::size_t name_width,
               std::size_t place_width, std::ostream& out) {
  const TensorCheck& t = report.tensors[k];
  std::string verdict;
  if (t.match()) {
    verdict = fmt::format("max error {}", error_text(t.max_abs_error));
  } else if (!t.follows_from.empty()) {
    std::vector<std::string> names;
    for (std::size_t cause : t.follows_from) names.push_back(report.tensors[cause].given_name);
    const std::string last = names.back();
    names.pop_back();
    verdict = names.empty() ? fmt::format("follows from {}", last)
                            : fmt::format("follows from {} and {}", fmt::join(names, ", "), last);
  } else {
    verdict = fmt::format("{} of {} cells differ", t.cells_differ, t.cells);
  }
  // A trace given as MINE names its tensors as this trace does: one column says it.
  const std::string where = t.given_name == place(t) ? std::string() : place(t);
  fmt::print(out, "  {} {} {} {}  {}\n", t.match() ? "✓" : "✗", padded(t.given_name, name_width),
             padded(where, place_width), padded(shape_text(t.shape), 14), verdict);
}

void write_first_difference(const CheckReport& report, const CheckTextOptions& options,
                            std::ostream& out) {
  const TensorCheck& t = report.tensors[*report.first_difference];
  fmt::print(out, "\nFirst difference: {} (the trace's {}), {} of {} {} differ{}. The worst:\n",
             t.given_name, place(t), t.cells_differ, t.cells, noun(t.cells, "cell", "cells"),
             t.cells_differ == 1 ? "s" : "");
  std::vector<std::string> where;
  std::size_t width = 0;
  for (const CellDifference& cell : t.worst) {
    where.push_back(cell_labels(report, t, cell.index));
    width = std::max(width, display_width(where.back()));
  }
  std::vector<std::string> yours, traced;
  std::size_t number_width = 0;
  for (const CellDifference& cell : t.worst) {
    yours.push_back(num(cell.yours, options.precision));
    traced.push_back(num(cell.expected, options.precision));
    number_width =
        std::max({number_width, display_width(yours.back()), display_width(traced.back())});
  }
  const auto right = [&](const std::string& text) {
    return std::string(number_width - display_width(text), ' ') + text;
  };
  for (std::size_t k = 0; k < t.worst.size(); ++k) {
    fmt::print(out, "  {}  yours {}   trace {}\n", padded(where[k], width), right(yours[k]),
               right(traced[k]));
  }
  if (t.cells_differ > t.worst.size()) {
    fmt::print(out, "  … and {} more\n", t.cells_differ - t.worst.size());
  }
  if (t.same_as && report.diagnosis.empty()) {  // else the diagnosis says why
    fmt::print(out,
               "Your {} are exactly the trace's {}: did you save another tensor under this "
               "name?\n",
               t.given_name, *t.same_as);
  }
  if (!t.worst.empty()) {
    // Quoted: zsh would read the brackets as a pattern.
    fmt::print(out, "The trace's arithmetic for the worst cell: attn-trace explain '{}'{}{}\n",
               cell_text(t, t.worst.front().index), options.input_args.empty() ? "" : " ",
               options.input_args);
  }
}

void write_diagnosis(const CheckReport& report, std::ostream& out) {
  const TensorCheck& t = report.tensors[*report.first_difference];
  if (report.diagnosis.empty()) {
    fmt::print(out,
               "\nNo mistake of the catalogue (docs/check.md) reproduces your {}: compare the "
               "cells above with the trace's, and the stages before it.\n",
               t.given_name);
    return;
  }
  fmt::print(out, "\nWhy: {} reproduce{} your {} exactly:\n",
             report.diagnosis.size() == 1 ? "this mistake" : "each of these mistakes",
             report.diagnosis.size() == 1 ? "s" : "",
             report.tensors[report.diagnosis.front().tensor].given_name);
  for (const Diagnosis& d : report.diagnosis) {
    fmt::print(out, "  {} ({} stage)\n    {}\n", d.id, stage_name(d.stage), d.text);
  }
}

using json = nlohmann::ordered_json;

json number(double v) {
  if (const auto word = non_finite_text(v, Spelling::json)) return std::string(*word);
  return v;
}

json follows_from_names(const CheckReport& report, const TensorCheck& t) {
  json names = json::array();
  for (std::size_t k : t.follows_from) names.push_back(report.tensors[k].given_name);
  return names;
}

}  // namespace

std::string cell_labels(const CheckReport& report, const TensorCheck& tensor,
                        const std::vector<std::size_t>& index) {
  std::size_t batch = 0;
  std::vector<std::string> parts;
  for (std::size_t a = 0; a < index.size() && a < tensor.axes.size(); ++a) {
    const Axis axis = tensor.axes[a];
    if (axis == Axis::batch) batch = index[a];
    if (const std::string* label = token(report, axis, batch, index[a])) {
      parts.push_back(fmt::format("{} \"{}\" ({})", axis_name(axis), *label, index[a]));
    } else {
      parts.push_back(fmt::format("{} {}", axis_name(axis), index[a]));
    }
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

void render_check_text(const CheckReport& report, const CheckTextOptions& options,
                       std::ostream& out) {
  fmt::print(out, "attn-trace check: {} against the trace of {} ({})\n\n", report.given_file,
             report.input, tolerance_text(report.tolerance));
  std::size_t name_width = 0, place_width = 0;
  for (const TensorCheck& t : report.tensors) {
    name_width = std::max(name_width, display_width(t.given_name));
    if (t.given_name != place(t)) place_width = std::max(place_width, display_width(place(t)));
  }
  for (std::size_t k = 0; k < report.tensors.size(); ++k) {
    write_row(report, k, name_width, place_width, out);
  }
  for (const std::string& note : report.notes) fmt::print(out, "\nNote: {}\n", note);
  if (report.match()) {
    if (report.tensors.size() == 1) {
      fmt::print(out, "\nIt matches the trace.\n");
    } else {
      fmt::print(out, "\nAll {} tensors match the trace.\n", report.tensors.size());
    }
    return;
  }
  write_first_difference(report, options, out);
  write_diagnosis(report, out);
}

void render_check_json(const CheckReport& report, std::ostream& out) {
  json doc;
  doc["format"] = check_format;
  doc["file"] = report.given_file;
  doc["input"] = report.input;
  doc["tolerance"] = {{"rtol", report.tolerance.rtol}, {"atol", report.tolerance.atol}};
  doc["notes"] = report.notes;
  doc["match"] = report.match();
  if (report.first_difference) {
    const TensorCheck& t = report.tensors[*report.first_difference];
    json worst = json::array();
    for (const CellDifference& cell : t.worst) {
      worst.push_back({{"index", cell.index},
                       {"cell", cell_text(t, cell.index)},
                       {"labels", cell_labels(report, t, cell.index)},
                       {"yours", number(cell.yours)},
                       {"expected", number(cell.expected)}});
    }
    doc["first_difference"] = {{"name", t.given_name}, {"stage", stage_name(t.stage)},
                               {"tensor", t.tensor},   {"cells", t.cells_differ},
                               {"of", t.cells},        {"worst", std::move(worst)}};
  } else {
    doc["first_difference"] = nullptr;
  }
  json diagnosis = json::array();
  for (const Diagnosis& d : report.diagnosis) {
    diagnosis.push_back({{"id", d.id},
                         {"stage", stage_name(d.stage)},
                         {"reproduces", report.tensors[d.tensor].given_name},
                         {"text", d.text}});
  }
  doc["diagnosis"] = std::move(diagnosis);
  json tensors = json::array();
  for (const TensorCheck& t : report.tensors) {
    tensors.push_back(
        {{"name", t.given_name},
         {"stage", stage_name(t.stage)},
         {"tensor", t.tensor},
         {"shape", t.shape},
         {"match", t.match()},
         {"cells", t.cells},
         {"cells_differ", t.cells_differ},
         {"max_abs_error", t.max_abs_error},
         {"max_rel_error", t.max_rel_error},
         {"same_as", t.same_as ? json(*t.same_as) : json(nullptr)},
         {"follows_from", t.follows_from.empty()
                              ? json(nullptr)
                              : json(report.tensors[t.follows_from.front()].given_name)},
         {"follows_from_all", follows_from_names(report, t)}});
  }
  doc["tensors"] = std::move(tensors);
  out << doc.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

}  // namespace attn_trace
