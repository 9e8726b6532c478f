// The typed readers of json_values.hpp. Every message goes through fail_value, with the path of
// the value that is wrong.
#include "json_values.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "input_error.hpp"

namespace attn_trace::loader {
namespace {

// The leaves of `value`, found `depth` levels down, into `out`, checking that every list is as
// long as out.shape says and every leaf is a scalar at the same depth.
void collect(std::string_view file, const json& value, const std::string& path, std::size_t depth,
             Nested& out) {
  const bool leaf_level = depth == out.shape.size();
  if (leaf_level) {
    if (value.is_array() || value.is_object()) {
      fail_value(file, path,
                 fmt::format("expected a single value {} levels deep, like {}{}, found {}", depth,
                             path.substr(0, path.find('[')), repeat_index(depth), describe(value)),
                 "every row must nest equally deep");
    }
    out.leaves.push_back(&value);
    return;
  }
  if (!value.is_array()) {
    fail_value(
        file, path,
        fmt::format("expected a list of {} elements, found {}", out.shape[depth], describe(value)),
        "every row must nest equally deep");
  }
  if (value.size() != out.shape[depth]) {
    fail_value(
        file, path,
        fmt::format("has {} elements, the ones before it have {}", value.size(), out.shape[depth]),
        "every row must have the same length");
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    collect(file, value[i], element_path(path, i), depth + 1, out);
  }
}

// Whether `key` is `candidate` under a module's prefix: "layers.0.self_attn.in_proj_weight".
bool prefixed(std::string_view key, std::string_view candidate) {
  return key.size() > candidate.size() && key.ends_with(candidate) &&
         key[key.size() - candidate.size() - 1] == '.';
}

}  // namespace

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      return fmt::format("a string \"{}\"", excerpt(s, 40));
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return fmt::format("a number {}", number_text(value));
    case json::value_t::object:
      return "an object with " + plural(value.size(), "key", "keys");
    case json::value_t::array:
      return value.empty() ? "an empty array"
                           : "an array of " + plural(value.size(), "element", "elements");
    default:
      return "an unsupported value";
  }
}

std::string number_text(const json& number) {
  if (const auto word = non_finite_text(number.get<double>(), Spelling::python)) {
    return std::string(*word);
  }
  return number.dump();
}

std::string element_path(std::string_view path, std::size_t index) {
  return fmt::format("{}[{}]", path, index);
}

double read_number(std::string_view file, const json& value, std::string_view path,
                   std::size_t index) {
  if (value.is_number()) return value.get<double>();
  return read_number(file, value, element_path(path, index));
}

double read_number(std::string_view file, const json& value, std::string_view path) {
  if (!value.is_number()) {
    fail_value(file, path, fmt::format("expected a number, found {}", describe(value)));
  }
  return value.get<double>();
}

Vector read_vector(std::string_view file, const json& value, std::string_view path) {
  if (!value.is_array() || value.empty()) {
    fail_value(file, path, fmt::format("expected a list of numbers, found {}", describe(value)));
  }
  Vector v(static_cast<Index>(value.size()));
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i].is_array()) {
      fail_value(file, element_path(path, i),
                 fmt::format("expected a number (this is a vector, not a matrix), found {}",
                             describe(value[i])));
    }
    v(static_cast<Index>(i)) = read_number(file, value[i], path, i);
  }
  return v;
}

Matrix read_matrix(std::string_view file, const json& value, std::string_view path) {
  if (!value.is_array() || value.empty()) {
    fail_value(
        file, path,
        fmt::format("expected a matrix (a list of rows of numbers), found {}", describe(value)));
  }
  if (!value[0].is_array()) {
    fail_value(file, element_path(path, 0),
               fmt::format("expected a row (a list of numbers), found {}", describe(value[0])),
               value[0].is_number() ? "a matrix is a list of rows: [[1, 2], [3, 4]]" : "");
  }
  const std::size_t cols = value[0].size();
  Matrix m(static_cast<Index>(value.size()), static_cast<Index>(cols));
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string row_path = element_path(path, i);
    const json& row = value[i];
    if (!row.is_array() || row.empty()) {
      fail_value(file, row_path,
                 fmt::format("expected a row (a list of numbers), found {}", describe(row)));
    }
    if (row.size() != cols) {
      fail_value(file, row_path,
                 fmt::format("row {} has {}, the rows above have {}", i,
                             plural(row.size(), "number", "numbers"), cols),
                 "every row of a matrix must have the same length");
    }
    for (std::size_t j = 0; j < cols; ++j) {
      m(static_cast<Index>(i), static_cast<Index>(j)) = read_number(file, row[j], row_path, j);
    }
  }
  return m;
}

Nested read_nested(std::string_view file, const json& value, std::string_view path) {
  Nested out;
  for (const json* level = &value; level->is_array(); level = &(*level)[0]) {
    if (level->empty()) {
      fail_value(file,
                 out.shape.empty() ? std::string(path)
                                   : fmt::format("{}{}", path, repeat_index(out.shape.size())),
                 "expected a list with elements, found an empty array");
    }
    out.shape.push_back(level->size());
  }
  if (out.shape.empty()) {
    fail_value(file, path, fmt::format("expected a list, found {}", describe(value)));
  }
  collect(file, value, std::string(path), 0, out);
  return out;
}

double read_leaf_number(std::string_view file, const Nested& nested, std::string_view path,
                        std::size_t flat) {
  const json& leaf = *nested.leaves[flat];
  if (leaf.is_number()) return leaf.get<double>();
  return read_number(file, leaf, leaf_path(path, nested, flat));
}

std::string leaf_path(std::string_view path, const Nested& nested, std::size_t flat) {
  std::vector<std::size_t> index(nested.shape.size());
  for (std::size_t a = nested.shape.size(); a-- > 0;) {
    index[a] = flat % nested.shape[a];
    flat /= nested.shape[a];
  }
  std::string out(path);
  for (std::size_t i : index) out += fmt::format("[{}]", i);
  return out;
}

std::string repeat_index(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "[0]";
  return s;
}

std::string optional_string(std::string_view file, const json& object, const char* key,
                            std::string_view prefix) {
  if (!object.contains(key)) return {};
  const json& value = object[key];
  if (!value.is_string()) {
    fail_value(file, prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key),
               fmt::format("expected a string, found {}", describe(value)));
  }
  return value.get<std::string>();
}

void check_keys(std::string_view file, const json& object, std::string_view prefix,
                std::span<const std::string_view> known) {
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string path =
        excerpt(key.empty() ? (prefix.empty() ? std::string("(top level)") : std::string(prefix))
                : prefix.empty() ? key
                                 : fmt::format("{}.{}", prefix, key));
    const std::string where = prefix.empty() ? "at the top level" : fmt::format("in {}", prefix);
    const std::string unknown = fmt::format("unknown key \"{}\"", excerpt(key));
    // A key from a whole model's state_dict, e.g. "layers.0.self_attn.in_proj_weight".
    for (std::string_view candidate : known) {
      if (!prefixed(key, candidate)) continue;
      fail_value(file, path, fmt::format("{}; did you mean \"{}\"?", unknown, candidate),
                 fmt::format("drop the module prefix \"{0}\": this object holds one attention "
                             "layer; or give a whole state_dict as a file of its own with "
                             "--weights FILE --weights-prefix {0}",
                             excerpt(key.substr(0, key.size() - candidate.size()))));
    }
    const std::string known_keys = fmt::format("known keys {}: {}", where, fmt::join(known, ", "));
    const auto suggestion = nearest(key, known);
    if (!suggestion) fail_value(file, path, unknown, known_keys);
    // GPT-2's Conv1D names store their weights transposed: a near miss is no reason to take an
    // nn.Linear's weight for one.
    const bool conv1d = suggestion->starts_with("c_attn.") || suggestion->starts_with("c_proj.");
    fail_value(file, path, fmt::format("{}; did you mean \"{}\"?", unknown, *suggestion),
               conv1d
                   ? fmt::format("{} is GPT-2's Conv1D, stored (in, out); an nn.Linear layer's "
                                 "weights go by out_proj.*, proj.*, qkv.* or the other names: {}",
                                 *suggestion, fmt::join(known, ", "))
                   : known_keys);
  }
}

}  // namespace attn_trace::loader
