// JSON → Spec. Every check of the input happens here, once, and each failure names the file, the
// JSON path, what was expected and what was found. See docs/input-format.md.
#include "attn_trace/load.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attn_trace/error.hpp"
#include "attn_trace/suggest.hpp"
#include "attn_trace/text_width.hpp"
#include "fast_json.hpp"

namespace attn_trace {
namespace {

// Ordered, so that problems are reported in the order they stand in the file.
using json = nlohmann::ordered_json;

constexpr std::string_view root_keys[] = {"input",       "tokens",        "name",
                                          "description", "source",        "num_heads",
                                          "scale",       "weight_layout", "weights"};
constexpr std::string_view weight_keys[] = {"in_proj_weight",
                                            "in_proj_bias",
                                            "q_proj_weight",
                                            "k_proj_weight",
                                            "v_proj_weight",
                                            "W_q",
                                            "W_k",
                                            "W_v",
                                            "b_q",
                                            "b_k",
                                            "b_v",
                                            "out_proj.weight",
                                            "out_proj.bias",
                                            "W_o",
                                            "b_o"};

// "a string \"x\"", "a number 3", "an array of 2 elements": what the user actually wrote.
std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      return fmt::format("a string \"{}\"", truncate_to_width(s, 40));
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return fmt::format("a number {}", value.dump());
    case json::value_t::object:
      return fmt::format("an object with {} keys", value.size());
    case json::value_t::array:
      return value.empty() ? "an empty array"
                           : fmt::format("an array of {} elements", value.size());
    default:
      return "an unsupported value";
  }
}

std::string shape_text(Index rows, Index cols) {
  return fmt::format("({}, {})", rows, cols);
}

// Checks one JSON document against the input format and builds the Spec.
class Loader {
 public:
  explicit Loader(const std::string& file) : file_(file) {}

  Spec load(const json& root) {
    if (!root.is_object()) {
      fail("(top level)",
           fmt::format("expected a JSON object with an \"input\" matrix, found {}", describe(root)),
           root.is_array() ? "wrap the matrix in an object: {\"input\": [[...], ...]}" : "");
    }
    check_keys(root, "", root_keys);

    Spec spec;
    spec.name = optional_string(root, "name");
    spec.description = optional_string(root, "description");
    spec.source = optional_string(root, "source");
    read_input(root, spec);
    read_tokens(root, spec);
    read_layout(root, spec);
    read_weights(root, spec);
    read_num_heads(root, spec);
    read_scale(root, spec);
    return spec;
  }

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& what,
                         std::string hint = {}) const {
    throw Error(fmt::format("{}: {}: {}", file_, path, what), std::move(hint));
  }

  void check_keys(const json& object, const std::string& prefix,
                  std::span<const std::string_view> known) const {
    for (const auto& item : object.items()) {
      const std::string& key = item.key();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      const std::string where = prefix.empty() ? "at the top level" : "in " + prefix;
      // A key from a whole model's state_dict, e.g. "layers.0.self_attn.in_proj_weight".
      for (std::string_view candidate : known) {
        if (key.size() > candidate.size() && key.ends_with(candidate) &&
            key[key.size() - candidate.size() - 1] == '.') {
          fail(path, fmt::format("unknown key \"{}\"; did you mean \"{}\"?", key, candidate),
               fmt::format("drop the module prefix \"{}\": this file describes one attention "
                           "layer",
                           key.substr(0, key.size() - candidate.size())));
        }
      }
      if (const auto suggestion = nearest(key, known)) {
        fail(path, fmt::format("unknown key \"{}\"; did you mean \"{}\"?", key, *suggestion),
             fmt::format("known keys {}: {}", where, fmt::join(known, ", ")));
      }
      fail(path, fmt::format("unknown key \"{}\"", key),
           fmt::format("known keys {}: {}", where, fmt::join(known, ", ")));
    }
  }

  std::string optional_string(const json& object, const char* key) const {
    if (!object.contains(key)) return {};
    const json& value = object[key];
    if (!value.is_string()) fail(key, fmt::format("expected a string, found {}", describe(value)));
    return value.get<std::string>();
  }

  // Element `index` of the array at `path`, which must be a finite number. The path of the element
  // is only spelled out for a message: loading millions of numbers must not format millions of
  // strings.
  double read_number(const json& value, const std::string& path, std::size_t index) const {
    if (value.is_number()) {
      const double number = value.get<double>();
      if (std::isfinite(number)) return number;
    }
    return read_number(value, fmt::format("{}[{}]", path, index));
  }

  // `value` at `path`, which must be a finite number.
  double read_number(const json& value, const std::string& path) const {
    if (!value.is_number()) fail(path, fmt::format("expected a number, found {}", describe(value)));
    const double number = value.get<double>();
    if (!std::isfinite(number)) {
      fail(path, fmt::format("expected a number in double range, found {}", value.dump()));
    }
    return number;
  }

  Vector read_vector(const json& value, const std::string& path) const {
    if (!value.is_array() || value.empty()) {
      fail(path, fmt::format("expected a list of numbers, found {}", describe(value)));
    }
    Vector v(static_cast<Index>(value.size()));
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i].is_array()) {
        fail(fmt::format("{}[{}]", path, i),
             fmt::format("expected a number (this is a vector, not a matrix), found {}",
                         describe(value[i])));
      }
      v(static_cast<Index>(i)) = read_number(value[i], path, i);
    }
    return v;
  }

  Matrix read_matrix(const json& value, const std::string& path) const {
    if (!value.is_array() || value.empty()) {
      fail(path,
           fmt::format("expected a matrix (a list of rows of numbers), found {}", describe(value)));
    }
    if (!value[0].is_array()) {
      fail(fmt::format("{}[0]", path),
           fmt::format("expected a row (a list of numbers), found {}", describe(value[0])),
           value[0].is_number() ? "a matrix is a list of rows: [[1, 2], [3, 4]]" : "");
    }
    const std::size_t cols = value[0].size();
    Matrix m(static_cast<Index>(value.size()), static_cast<Index>(cols));
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string row_path = fmt::format("{}[{}]", path, i);
      const json& row = value[i];
      if (!row.is_array() || row.empty()) {
        fail(row_path, fmt::format("expected a row (a list of numbers), found {}", describe(row)));
      }
      if (row.size() != cols) {
        fail(row_path,
             fmt::format("row {} has {} numbers, the rows above have {}", i, row.size(), cols),
             "every row of a matrix must have the same length");
      }
      for (std::size_t j = 0; j < cols; ++j) {
        m(static_cast<Index>(i), static_cast<Index>(j)) = read_number(row[j], row_path, j);
      }
    }
    return m;
  }

  void read_input(const json& root, Spec& spec) const {
    if (!root.contains("input")) {
      fail("input", "missing: the input matrix X is required, (L, E) or batched (B, L, E)");
    }
    const json& input = root["input"];
    const bool batched = input.is_array() && !input.empty() && input[0].is_array() &&
                         !input[0].empty() && input[0][0].is_array();
    spec.batched = batched;
    if (!batched) {
      spec.inputs.push_back(read_matrix(input, "input"));
      return;
    }
    for (std::size_t b = 0; b < input.size(); ++b) {
      const std::string path = fmt::format("input[{}]", b);
      Matrix x = read_matrix(input[b], path);
      if (b > 0 && (x.rows() != spec.inputs[0].rows() || x.cols() != spec.inputs[0].cols())) {
        fail(path,
             fmt::format("expected shape {} like input[0], found {}",
                         shape_text(spec.inputs[0].rows(), spec.inputs[0].cols()),
                         shape_text(x.rows(), x.cols())),
             "every batch must have the same number of tokens and the same embed dim");
      }
      spec.inputs.push_back(std::move(x));
    }
  }

  std::vector<std::string> read_token_list(const json& value, const std::string& path,
                                           Index length) const {
    if (!value.is_array()) {
      fail(path, fmt::format("expected a list of {} token label{}, found {}", length,
                             length == 1 ? "" : "s", describe(value)));
    }
    if (static_cast<Index>(value.size()) != length) {
      fail(path, fmt::format("expected {} token label{}, one per row of input, found {}", length,
                             length == 1 ? "" : "s", value.size()));
    }
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string()) {
        fail(fmt::format("{}[{}]", path, i),
             fmt::format("expected a token label (a string), found {}", describe(value[i])));
      }
      tokens.push_back(value[i].get<std::string>());
    }
    return tokens;
  }

  void read_tokens(const json& root, Spec& spec) const {
    const Index length = spec.q_len();
    if (!root.contains("tokens")) {
      std::vector<std::string> numbers;
      for (Index i = 0; i < length; ++i) numbers.push_back(std::to_string(i));
      spec.tokens.assign(spec.inputs.size(), numbers);
      return;
    }
    const json& tokens = root["tokens"];
    const bool per_batch =
        tokens.is_array() &&
        std::any_of(tokens.begin(), tokens.end(), [](const json& t) { return t.is_array(); });
    if (!per_batch) {
      spec.tokens.assign(spec.inputs.size(), read_token_list(tokens, "tokens", length));
      return;
    }
    if (!spec.batched) {
      fail("tokens", "expected a list of token labels, found a list of lists",
           "one list per batch is only for batched input (B, L, E)");
    }
    if (tokens.size() != spec.inputs.size()) {
      fail("tokens", fmt::format("expected one list of labels per batch ({} lists), found {}",
                                 spec.inputs.size(), tokens.size()));
    }
    for (std::size_t b = 0; b < tokens.size(); ++b) {
      spec.tokens.push_back(read_token_list(tokens[b], fmt::format("tokens[{}]", b), length));
    }
  }

  void read_layout(const json& root, Spec& spec) const {
    if (!root.contains("weight_layout")) return;
    const json& value = root["weight_layout"];
    if (value == "torch") {
      spec.weight_layout = WeightLayout::torch;
    } else if (value == "math") {
      spec.weight_layout = WeightLayout::math;
    } else {
      fail("weight_layout",
           fmt::format("expected \"torch\" or \"math\", found {}", describe(value)),
           "\"torch\": W is (out, in) and y = x·Wᵀ + b, as nn.Linear stores it; "
           "\"math\": W is (in, out) and y = x·W + b");
    }
  }

  // A weight matrix in the user's layout, returned as (out, in). `in` is the width it must accept;
  // `out` is the width it must produce, or -1 when the matrix itself decides.
  Matrix read_weight(const json& weights, const std::string& key, Index in, Index out,
                     const Spec& spec, std::string_view why) const {
    const std::string path = "weights." + key;
    Matrix m = read_matrix(weights[key], path);
    const bool math = spec.weight_layout == WeightLayout::math;
    if (math) m.transposeInPlace();
    if (m.cols() == in && (out < 0 || m.rows() == out)) return m;

    // Shapes as the user writes them: (out, in) for torch, (in, out) for math.
    const auto as_written = [&](const std::string& o, const std::string& i) {
      return math ? fmt::format("({}, {})", i, o) : fmt::format("({}, {})", o, i);
    };
    const std::string want_out = out < 0 ? "out" : std::to_string(out);
    const std::string found = as_written(std::to_string(m.rows()), std::to_string(m.cols()));
    // The transpose would fit: the matrix was most likely written in the other layout.
    const bool other_layout_fits = m.rows() == in && (out < 0 || m.cols() == out);
    std::string hint =
        math ? "weight_layout \"math\": every weight is (in, out), used as x·W"
             : "weight_layout \"torch\": every weight is (out, in), as nn.Linear stores it";
    if (other_layout_fits) {
      hint =
          fmt::format("{} is the shape of the transpose: {}", found,
                      math ? "for (out, in) matrices as nn.Linear stores them, set "
                             "\"weight_layout\": \"torch\""
                           : "for (in, out) matrices used as x·W, set \"weight_layout\": \"math\"");
    }
    fail(path,
         fmt::format("expected shape {} {}, found {}", as_written(want_out, std::to_string(in)),
                     why, found),
         hint);
  }

  Vector read_bias(const json& weights, const std::string& key, Index length,
                   std::string_view why) const {
    const std::string path = "weights." + key;
    Vector v = read_vector(weights[key], path);
    if (v.size() != length) {
      fail(path, fmt::format("expected {} numbers {}, found {}", length, why, v.size()));
    }
    return v;
  }

  void read_weights(const json& root, Spec& spec) const {
    if (!root.contains("weights")) return;
    const json& weights = root["weights"];
    if (!weights.is_object()) {
      fail("weights",
           fmt::format("expected an object of named weight matrices, found {}", describe(weights)));
    }
    check_keys(weights, "weights", weight_keys);
    const auto has = [&](const char* key) { return weights.contains(key); };

    // Which of the three forms was used? Exactly one, or none at all.
    std::vector<std::string_view> forms;
    if (has("in_proj_weight")) forms.emplace_back("in_proj_weight");
    for (const char* key : {"q_proj_weight", "k_proj_weight", "v_proj_weight"}) {
      if (has(key)) {
        forms.emplace_back(key);
        break;
      }
    }
    for (const char* key : {"W_q", "W_k", "W_v", "b_q", "b_k", "b_v"}) {
      if (has(key)) {
        forms.emplace_back(key);
        break;
      }
    }
    if (forms.size() > 1) {
      fail("weights",
           fmt::format("two forms of the Q/K/V weights given at once: {}",
                       fmt::join(forms, " and ")),
           "give exactly one: in_proj_weight (packed), q_proj_weight/k_proj_weight/v_proj_weight, "
           "or W_q/W_k/W_v");
    }

    if (has("in_proj_weight")) {
      read_packed(weights, spec);
    } else if (!forms.empty() && forms[0].ends_with("proj_weight")) {
      read_separate(weights, spec, {"q_proj_weight", "k_proj_weight", "v_proj_weight"});
      if (has("in_proj_bias")) split_packed_bias(weights, spec);
    } else if (!forms.empty()) {
      if (has("in_proj_bias")) {
        fail("weights.in_proj_bias", "given with W_q, W_k, W_v, whose biases are b_q, b_k, b_v",
             "in_proj_bias goes with in_proj_weight or q_proj_weight/k_proj_weight/v_proj_weight; "
             "split it into b_q, b_k, b_v (query, key, value, in that order)");
      }
      read_separate(weights, spec, {"W_q", "W_k", "W_v"});
      const Index model = spec.model_dim();
      const std::string why = fmt::format("for projection width {}", model);
      if (has("b_q")) spec.q_proj->bias = read_bias(weights, "b_q", model, why);
      if (has("b_k")) spec.k_proj->bias = read_bias(weights, "b_k", model, why);
      if (has("b_v")) spec.v_proj->bias = read_bias(weights, "b_v", model, why);
    } else if (has("in_proj_bias")) {
      fail("weights.in_proj_bias", "given without in_proj_weight or q/k/v_proj_weight",
           "a bias needs the weights it belongs to");
    }

    read_out_proj(weights, spec);
  }

  void read_packed(const json& weights, Spec& spec) const {
    const Index embed = spec.embed_dim();
    Matrix packed = read_matrix(weights["in_proj_weight"], "weights.in_proj_weight");
    const bool math = spec.weight_layout == WeightLayout::math;
    if (math) packed.transposeInPlace();
    if (packed.cols() != embed || packed.rows() % 3 != 0) {
      const Index rows = packed.rows() % 3 == 0 ? packed.rows() : 3 * embed;
      const bool transposed_fits = packed.rows() == embed && packed.cols() % 3 == 0;
      const auto as_written = [&](Index o, Index i) {
        return math ? shape_text(i, o) : shape_text(o, i);
      };
      fail("weights.in_proj_weight",
           fmt::format("expected shape {} for embed dim {}, found {}", as_written(rows, embed),
                       embed, as_written(packed.rows(), packed.cols())),
           transposed_fits
               ? fmt::format("{} is the shape of the transpose: {}",
                             as_written(packed.rows(), packed.cols()),
                             math ? "for nn.MultiheadAttention's (3E, E) matrix, set "
                                    "\"weight_layout\": \"torch\""
                                  : "for an (E, 3E) matrix used as x·W, set \"weight_layout\": "
                                    "\"math\"")
               : fmt::format("in_proj_weight stacks W_q, W_k and W_v, each (E, E) = ({}, {}) in "
                             "nn.MultiheadAttention{}",
                             embed, embed, math ? ", transposed for weight_layout \"math\"" : ""));
    }
    const Index model = packed.rows() / 3;
    spec.q_proj = Linear{packed.topRows(model), std::nullopt};
    spec.k_proj = Linear{packed.middleRows(model, model), std::nullopt};
    spec.v_proj = Linear{packed.bottomRows(model), std::nullopt};
    spec.notes.push_back(fmt::format(
        "in_proj_weight was split in PyTorch's order: query, key, value ({} rows each{})", model,
        math ? ", after transposing the (in, out) matrix" : ""));
    if (weights.contains("in_proj_bias")) split_packed_bias(weights, spec);
  }

  void split_packed_bias(const json& weights, Spec& spec) const {
    const Index model = spec.model_dim();
    const Vector bias = read_bias(weights, "in_proj_bias", 3 * model,
                                  fmt::format("(b_q, b_k, b_v stacked, {} each)", model));
    spec.q_proj->bias = bias.segment(0, model);
    spec.k_proj->bias = bias.segment(model, model);
    spec.v_proj->bias = bias.segment(2 * model, model);
  }

  void read_separate(const json& weights, Spec& spec,
                     const std::array<std::string, 3>& keys) const {
    for (const std::string& key : keys) {
      if (!weights.contains(key)) {
        fail("weights." + key,
             fmt::format("missing: {}, {} and {} come together", keys[0], keys[1], keys[2]));
      }
    }
    const Index embed = spec.embed_dim();
    const std::string why = fmt::format("for embed dim {}", embed);
    spec.q_proj = Linear{read_weight(weights, keys[0], embed, -1, spec, why), std::nullopt};
    const Index model = spec.q_proj->weight.rows();
    const std::string same = fmt::format("for embed dim {}, like {}", embed, keys[0]);
    spec.k_proj = Linear{read_weight(weights, keys[1], embed, model, spec, same), std::nullopt};
    spec.v_proj = Linear{read_weight(weights, keys[2], embed, model, spec, same), std::nullopt};
  }

  void read_out_proj(const json& weights, Spec& spec) const {
    const bool torch_names =
        weights.contains("out_proj.weight") || weights.contains("out_proj.bias");
    const bool plain_names = weights.contains("W_o") || weights.contains("b_o");
    if (torch_names && plain_names) {
      fail("weights", "two forms of the output projection given at once: out_proj.* and W_o/b_o",
           "give exactly one");
    }
    if (!torch_names && !plain_names) return;
    const std::string weight_key = torch_names ? "out_proj.weight" : "W_o";
    const std::string bias_key = torch_names ? "out_proj.bias" : "b_o";
    if (!weights.contains(weight_key)) {
      fail("weights." + weight_key, fmt::format("missing: {} is given without it", bias_key));
    }
    const Index model = spec.model_dim();
    Linear out{read_weight(weights, weight_key, model, -1, spec,
                           fmt::format("to map the context of width {}", model)),
               std::nullopt};
    if (weights.contains(bias_key)) {
      out.bias = read_bias(weights, bias_key, out.weight.rows(),
                           fmt::format("(one per output of {})", weight_key));
    }
    spec.out_proj = std::move(out);
  }

  void read_num_heads(const json& root, Spec& spec) const {
    const Index model = spec.model_dim();
    if (root.contains("num_heads")) {
      const json& value = root["num_heads"];
      // 2 and 2.0 are the same count; 1.5, 0 and -1 are not counts.
      const double heads = value.is_number() ? value.get<double>() : 0;
      if (!value.is_number() || heads < 1 || heads != std::floor(heads)) {
        fail("num_heads", fmt::format("expected a whole number ≥ 1, found {}", describe(value)));
      }
      if (heads > static_cast<double>(model)) {
        fail("num_heads", fmt::format("expected at most {} (the width of Q, K and V), found {}",
                                      model, value.dump()));
      }
      spec.num_heads = static_cast<Index>(heads);
    }
    if (model % spec.num_heads != 0) {
      std::vector<std::string> divisors;
      for (Index h = 1; h <= model; ++h) {
        if (model % h == 0) divisors.push_back(std::to_string(h));
      }
      fail("num_heads",
           fmt::format("{} does not divide the width of Q, K and V ({}), so the heads cannot be "
                       "equal slices",
                       spec.num_heads, model),
           fmt::format("head counts that would: {}", fmt::join(divisors, ", ")));
    }
  }

  void read_scale(const json& root, Spec& spec) const {
    if (!root.contains("scale")) return;
    const json& value = root["scale"];
    const char* expected = "expected \"head_dim\", \"embed_dim\", \"none\" or a positive number";
    if (value.is_number()) {
      const double s = read_number(value, "scale");
      if (!(s > 0)) fail("scale", fmt::format("{}, found {}", expected, describe(value)));
      spec.scale_rule = ScaleRule::custom;
      spec.custom_scale = s;
      if (s > 1) {
        spec.notes.push_back(fmt::format(
            "scale {} multiplies the scores; to divide them by {} instead, write \"scale\": {}",
            value.dump(), value.dump(), fmt::format("{:g}", 1.0 / s)));
      }
    } else if (value == "head_dim") {
      spec.scale_rule = ScaleRule::head_dim;
    } else if (value == "embed_dim") {
      spec.scale_rule = ScaleRule::embed_dim;
    } else if (value == "none") {
      spec.scale_rule = ScaleRule::none;
    } else {
      fail("scale", fmt::format("{}, found {}", expected, describe(value)),
           "\"head_dim\" multiplies the scores by 1/√d, as PyTorch does; a number is the "
           "multiplier itself");
    }
  }

  const std::string& file_;
};

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

// "FILE:LINE:COL: what", then the offending line and a caret under the column of `offset`.
[[noreturn]] void fail_at(std::string_view text, const std::string& file, std::size_t offset,
                          const std::string& what, std::string hint) {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') ++line, line_start = i + 1;
  }
  std::size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  const std::string_view line_text = text.substr(line_start, line_end - line_start);
  const std::size_t column = offset - line_start + 1;
  // Tabs stay tabs under the line, so the caret lands where the terminal shows the column.
  std::string caret;
  const std::string_view before_caret = line_text.substr(0, column - 1);
  for (std::size_t i = 0; i < before_caret.size();) {
    const std::size_t next = before_caret.find('\t', i);
    const std::size_t end = next == std::string_view::npos ? before_caret.size() : next;
    caret.append(display_width(before_caret.substr(i, end - i)), ' ');
    if (next == std::string_view::npos) break;
    caret += '\t';
    i = next + 1;
  }
  throw Error(fmt::format("{}:{}:{}: {}\n  {}\n  {}^", file, line, column, what, line_text, caret),
              std::move(hint));
}

[[noreturn]] void fail_parse(std::string_view text, const std::string& file,
                             const json::parse_error& error) {
  // nlohmann reports the position of the last character it read; point at the token's start.
  const std::size_t last = std::min<std::size_t>(error.byte > 0 ? error.byte - 1 : 0, text.size());
  const std::size_t offset = token_start(text, std::min(last + 1, text.size()));

  std::string what = error.what();
  if (const std::size_t colon = what.find(": ", what.find("column")); colon != std::string::npos) {
    what = what.substr(colon + 2);
  }
  // The characters the lexer read last, when it says: "…; last read: '<chars>'; …".
  std::string last_read;
  if (const std::size_t at = what.find("last read: '"); at != std::string::npos) {
    const std::size_t start = at + 12;
    const std::size_t end = what.find("'; ", start);
    last_read = what.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (end == std::string::npos && last_read.ends_with('\'')) last_read.pop_back();
  }
  std::string hint;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    what = "the file is empty";
  } else if (what.find("unexpected end of input") != std::string::npos) {
    hint = "the text ends before every [ and { is closed";
  } else if (what.find("while parsing object - unexpected string literal") != std::string::npos) {
    hint = "is a comma missing before this key?";
  } else if (what.find("while parsing array - unexpected") != std::string::npos &&
             what.find("expected ']'") != std::string::npos) {
    hint = "is a comma missing between two elements?";
  } else if (what.find("expected end of input") != std::string::npos) {
    hint = "the JSON closed before this: is a bracket one too many?";
  } else if (what.find("unexpected ']'") != std::string::npos ||
             what.find("unexpected '}'") != std::string::npos) {
    const std::size_t before =
        offset == 0 ? std::string_view::npos : text.find_last_not_of(" \t\r\n", offset - 1);
    hint = before != std::string_view::npos && text[before] == ','
               ? "JSON allows no comma after the last element"
               : "is this bracket one too many, or is one missing before it?";
  } else if (last_read.ends_with("/")) {
    hint = "JSON has no comments; put notes in \"description\"";
  } else if (last_read.ends_with("'")) {
    hint = "JSON strings use double quotes: \"like this\"";
  } else if (what.find("invalid string") != std::string::npos) {
    hint = "is a closing quote missing?";
  } else if (what.find("invalid literal") != std::string::npos) {
    hint = "the only bare words in JSON are true, false and null; text needs double quotes";
  }
  fail_at(text, file, offset, what, std::move(hint));
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
[[noreturn]] void fail_number_range(std::string_view text, const std::string& file,
                                    const json::out_of_range& error) {
  const std::string what = error.what();
  const std::size_t open = what.find('\'');
  const std::size_t close = what.rfind('\'');
  const std::string literal =
      open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
  const std::size_t offset = literal.empty() ? std::string_view::npos : find_number(text, literal);
  const std::string message =
      fmt::format("number {} is out of range: a double holds up to about 1.8e308", literal);
  if (offset == std::string_view::npos) throw Error(fmt::format("{}: {}", file, message));
  fail_at(text, file, offset, message, "");
}

// Frees a document from the leaves up. nlohmann's destructor moves every element of an array onto
// a stack of its own before freeing it, which for millions of numbers takes longer than reading
// them; emptying the innermost arrays first leaves it nothing to move. The recursion is bounded:
// both parsers' documents here nest at most a few hundred levels deep.
void dismantle(json& value, int depth = 0) {
  if (!value.is_array() && !value.is_object()) return;
  if (depth < 300) {
    for (json& child : value) dismantle(child, depth + 1);
  }
  if (value.is_array()) value.get_ref<json::array_t&>().clear();
}

}  // namespace

Spec load_spec(std::string_view text, const std::string& file) {
  // The fast parser reads valid JSON; for anything else, nlohmann's parser explains what is wrong.
  std::optional<detail::FastParse> parsed = detail::parse_fast(text);
  if (!parsed) {
    try {
      parsed = detail::FastParse{json::parse(text.begin(), text.end()), std::nullopt, 0};
    } catch (const json::parse_error& error) {
      fail_parse(text, file, error);
    } catch (const json::out_of_range& error) {
      fail_number_range(text, file, error);
    }
  }
  // JSON lets a key appear twice in one object and keeps one value: a weight written twice would
  // silently lose a copy.
  if (parsed->duplicate_key) {
    fail_at(text, file, parsed->duplicate_offset,
            fmt::format("duplicate key \"{}\": JSON keeps only one value, so the other would be "
                        "silently dropped",
                        *parsed->duplicate_key),
            "keep one of them");
  }
  Spec spec = Loader(file).load(parsed->document);
  dismantle(parsed->document);
  return spec;
}

Spec load_spec_file(const std::string& path) {
  if (path == "-") {
    std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    return load_spec(text, "<stdin>");
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(fmt::format("{}: is a directory, expected a JSON file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  // A regular file is read in one go (a model's weights can be tens of megabytes); a pipe, whose
  // size is unknown, as a stream.
  std::string text;
  const std::uintmax_t size =
      std::filesystem::is_regular_file(path, ec) ? std::filesystem::file_size(path, ec) : 0;
  if (!ec && size > 0) {
    text.resize(static_cast<std::size_t>(size));
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
  } else {  // a pipe, or a file that does not know its size (/proc)
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (in.bad()) throw Error(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return load_spec(text, path);
}

}  // namespace attn_trace
