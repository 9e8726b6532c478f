// JSON → Spec. Every check of the input happens here, once, and each failure names the file, the
// JSON path, what was expected and what was found. See docs/input-format.md.
#include "attn_trace/input/load.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <sstream>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/stage_id.hpp"
#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/input/state_dict.hpp"
#include "input_error.hpp"
#include "json_document.hpp"
#include "json_values.hpp"

namespace attn_trace {
namespace {

using loader::excerpt;
using loader::fail_at;
using loader::fail_file;
using loader::fail_value;
using loader::state_dict_hint;

using loader::describe;
using loader::DocumentKind;
using loader::json;
using loader::leaf_path;
using loader::Nested;
using loader::repeat_index;

constexpr std::string_view root_keys[] = {
    "input",     "tokens",        "name",      "description",      "source",        "num_heads",
    "scale",     "weight_layout", "weights",   "kv_input",         "key_input",     "value_input",
    "kv_tokens", "mask",          "attn_mask", "key_padding_mask", "add_zero_attn", "published"};

// Checks one JSON document against the input format and builds the Spec.
class Loader {
 public:
  // Weights from a file of their own: `layer` is the object of one layer's weights, its keys
  // without the layer's prefix, which messages put back.
  Loader(const std::string& file, const json& layer, const std::string& weights_file,
         const std::string& prefix, std::optional<Index> num_heads)
      : file_(file),
        external_weights_(&layer),
        weights_file_(weights_file),
        weights_prefix_(excerpt(prefix)),
        weights_object_(prefix.empty()      ? "(top level)"
                        : prefix.size() > 1 ? excerpt(prefix.substr(0, prefix.size() - 1))
                                            : excerpt(prefix)),
        heads_flag_(num_heads) {}

  explicit Loader(const std::string& file, std::optional<Index> num_heads)
      : file_(file), heads_flag_(num_heads) {}

  Spec load(const json& root) {
    if (!root.is_object()) {
      fail("(top level)",
           fmt::format("expected a JSON object with an \"input\" matrix, found {}", describe(root)),
           root.is_array() ? "wrap the matrix in an object: {\"input\": [[...], ...]}" : "");
    }
    if (!root.contains("input")) {
      std::vector<std::string> keys;
      for (const auto& item : root.items()) keys.push_back(item.key());
      if (!attention_layers(keys).empty()) {
        fail("(top level)", "this file holds weights only (a state_dict), not an input",
             "give it with --weights FILE, and the input matrix in a file of its own with "
             "--input (docs/input-format.md)");
      }
    }
    check_keys(root, "", root_keys);

    Spec spec;
    spec.name = optional_string(root, "name");
    spec.description = optional_string(root, "description");
    spec.source = optional_string(root, "source");
    read_input(root, spec);
    read_key_inputs(root, spec);
    read_tokens(root, spec);
    read_layout(root, spec);
    read_weights(root, spec);
    read_num_heads(root, spec);
    read_scale(root, spec);
    read_add_zero_attn(root, spec);
    read_masks(root, spec);
    read_published(root, spec);
    return spec;
  }

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& what,
                         std::string hint = {}) const {
    fail_value(*message_file_, path, what, std::move(hint));
  }

  void check_keys(const json& object, const std::string& prefix,
                  std::span<const std::string_view> known) const {
    loader::check_keys(*message_file_, object, prefix, known);
  }

  std::string optional_string(const json& object, const char* key,
                              const std::string& prefix = "") const {
    return loader::optional_string(*message_file_, object, key, prefix);
  }

  double read_number(const json& value, const std::string& path) const {
    return loader::read_number(*message_file_, value, path);
  }

  Vector read_vector(const json& value, const std::string& path) const {
    return loader::read_vector(*message_file_, value, path);
  }

  Matrix read_matrix(const json& value, const std::string& path) const {
    return loader::read_matrix(*message_file_, value, path);
  }

  Nested read_nested(const json& value, const std::string& path) const {
    return loader::read_nested(*message_file_, value, path);
  }

  void read_input(const json& root, Spec& spec) const {
    if (!root.contains("input")) {
      fail("input", "missing: the input matrix X is required, (L, E) or batched (B, L, E)");
    }
    const json& input = root["input"];
    spec.batched = input.is_array() && !input.empty() && input[0].is_array() && !input[0].empty() &&
                   input[0][0].is_array();
    spec.inputs = read_rows(input, "input", spec.batched);
  }

  // A matrix of rows (L, width), or B of them when `batched`, all of the same shape.
  std::vector<Matrix> read_rows(const json& value, const std::string& path, bool batched) const {
    if (!batched) return {read_matrix(value, path)};
    if (!value.is_array() || value.empty()) {
      fail(path, fmt::format("expected a batch of matrices (B, L, E), found {}", describe(value)));
    }
    std::vector<Matrix> rows;
    for (std::size_t b = 0; b < value.size(); ++b) {
      const std::string at = fmt::format("{}[{}]", path, b);
      Matrix x = read_matrix(value[b], at);
      if (b > 0 && (x.rows() != rows[0].rows() || x.cols() != rows[0].cols())) {
        fail(at,
             fmt::format("expected shape {} like {}[0], found {}",
                         shape_text({rows[0].rows(), rows[0].cols()}), path,
                         shape_text({x.rows(), x.cols()})),
             "every batch must have the same number of tokens and the same width");
      }
      rows.push_back(std::move(x));
    }
    return rows;
  }

  // Cross-attention: kv_input, or key_input and value_input, shaped like input (batched or not).
  void read_key_inputs(const json& root, Spec& spec) const {
    const bool kv = root.contains("kv_input"), k = root.contains("key_input"),
               v = root.contains("value_input");
    if (kv && (k || v)) {
      fail(k ? "key_input" : "value_input", "given with kv_input",
           "kv_input is the source of both K and V; key_input and value_input give one each: "
           "use one form");
    }
    if (k != v) {
      fail(k ? "value_input" : "key_input", "missing: key_input and value_input come together",
           "for one source of both K and V, write kv_input");
    }
    if (!kv && !k) return;
    const auto read = [&](const char* key) {
      const json& value = root[key];
      const bool batched = value.is_array() && !value.empty() && value[0].is_array() &&
                           !value[0].empty() && value[0][0].is_array();
      if (batched != spec.batched) {
        fail(key,
             spec.batched
                 ? fmt::format("expected a batch of {} matrices (B, S, width) like input, found {}",
                               spec.batch_size(), "a single matrix")
                 : "expected a matrix (S, width) like input, found a batch of matrices",
             "the keys and values are batched exactly when the queries are");
      }
      std::vector<Matrix> rows = read_rows(value, key, batched);
      if (rows.size() != spec.inputs.size()) {
        fail(key, fmt::format("expected {} batches like input, found {}", spec.inputs.size(),
                              rows.size()));
      }
      return rows;
    };
    if (kv) {
      spec.key_source = KeySource::kv_input;
      spec.key_inputs = read("kv_input");
      spec.value_inputs = spec.key_inputs;
      return;
    }
    spec.key_source = KeySource::separate;
    spec.key_inputs = read("key_input");
    spec.value_inputs = read("value_input");
    const Index keys = spec.key_inputs.front().rows(), values = spec.value_inputs.front().rows();
    if (values != keys) {
      fail("value_input",
           fmt::format("expected {} row{}, one per row of key_input, found {}", keys,
                       keys == 1 ? "" : "s", values),
           "key j and value j belong to the same token");
    }
  }

  std::vector<std::string> read_token_list(const json& value, const std::string& path, Index length,
                                           const char* rows_of) const {
    if (!value.is_array()) {
      fail(path, fmt::format("expected a list of {} token label{}, found {}", length,
                             length == 1 ? "" : "s", describe(value)));
    }
    if (static_cast<Index>(value.size()) != length) {
      fail(path, fmt::format("expected {} token label{}, one per row of {}, found {}", length,
                             length == 1 ? "" : "s", rows_of, value.size()));
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
    spec.tokens = read_token_lists(root, "tokens", spec.q_len(), spec, "input");
    if (spec.key_source == KeySource::self) {
      if (root.contains("kv_tokens")) {
        fail("kv_tokens", "given without kv_input or key_input/value_input",
             "in self-attention the keys are the query tokens, labelled by \"tokens\"");
      }
      spec.kv_tokens = spec.tokens;
      return;
    }
    spec.kv_tokens =
        read_token_lists(root, "kv_tokens", spec.kv_len(), spec,
                         spec.key_source == KeySource::kv_input ? "kv_input" : "key_input");
  }

  // `key`'s labels: one list of `length`, or one per batch; numbers 0 … length−1 when absent.
  std::vector<std::vector<std::string>> read_token_lists(const json& root, const char* key,
                                                         Index length, const Spec& spec,
                                                         const char* rows_of) const {
    if (!root.contains(key)) {
      std::vector<std::string> numbers;
      for (Index i = 0; i < length; ++i) numbers.push_back(std::to_string(i));
      return std::vector<std::vector<std::string>>(spec.inputs.size(), numbers);
    }
    const json& tokens = root[key];
    const bool per_batch =
        tokens.is_array() &&
        std::any_of(tokens.begin(), tokens.end(), [](const json& t) { return t.is_array(); });
    if (!per_batch) {
      return std::vector<std::vector<std::string>>(spec.inputs.size(),
                                                   read_token_list(tokens, key, length, rows_of));
    }
    if (!spec.batched) {
      fail(key, "expected a list of token labels, found a list of lists",
           "one list per batch is only for batched input (B, L, E)");
    }
    if (tokens.size() != spec.inputs.size()) {
      fail(key, fmt::format("expected one list of labels per batch ({} lists), found {}",
                            spec.inputs.size(), tokens.size()));
    }
    std::vector<std::vector<std::string>> lists;
    for (std::size_t b = 0; b < tokens.size(); ++b) {
      lists.push_back(read_token_list(tokens[b], fmt::format("{}[{}]", key, b), length, rows_of));
    }
    return lists;
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

  // How a weight matrix is stored. The input format's names follow "weight_layout"; a tutorial's
  // module fixes the layout of its own weights: nn.Linear (out, in), GPT-2's Conv1D (in, out).
  struct Storage {
    WeightLayout layout;
    std::string_view module;  // "" when weight_layout decides; else "an nn.Linear", "a Conv1D"
  };

  static Storage storage_of(const Spec& spec, std::optional<WeightLayout> fixed,
                            std::string_view module) {
    return fixed ? Storage{*fixed, module} : Storage{spec.weight_layout, {}};
  }

  static std::string layout_hint(const Storage& storage, std::string_view key) {
    const bool math = storage.layout == WeightLayout::math;
    if (!storage.module.empty()) {
      return fmt::format("{} is {} weight, stored {}", key, storage.module,
                         math ? "(in, out) and used as x·W" : "(out, in)");
    }
    return math ? "weight_layout \"math\": every weight is (in, out), used as x·W"
                : "weight_layout \"torch\": every weight is (out, in), as nn.Linear stores it";
  }

  static std::string transpose_hint(const Storage& storage, std::string_view key) {
    if (!storage.module.empty()) {
      return fmt::format(
          "{} is {} weight, stored {}: give the module's state_dict as it is, "
          "not transposed",
          key, storage.module, storage.layout == WeightLayout::math ? "(in, out)" : "(out, in)");
    }
    return storage.layout == WeightLayout::math
               ? "for (out, in) matrices as nn.Linear stores them, set \"weight_layout\": \"torch\""
               : "for (in, out) matrices used as x·W, set \"weight_layout\": \"math\"";
  }

  // Where a weight stands, for messages: "weights.W_q" in an input file, the key itself (with its
  // layer's prefix) in a --weights file.
  std::string weights_path(std::string_view key) const {
    return weights_prefix_ + std::string(key);
  }

  // A weight matrix as stored, returned as (out, in). `in` is the width it must accept; `out` is
  // the width it must produce, or -1 when the matrix itself decides.
  Matrix read_weight(const json& weights, std::string_view key, Index in, Index out,
                     const Storage& storage, std::string_view why) const {
    const std::string path = weights_path(key);
    Matrix m = read_matrix(weights[std::string(key)], path);
    const bool math = storage.layout == WeightLayout::math;
    if (math) m.transposeInPlace();
    if (m.cols() == in && (out < 0 || m.rows() == out)) return m;

    // Shapes as stored: (out, in), or (in, out) for the math layout.
    const auto as_written = [&](const std::string& o, const std::string& i) {
      return math ? fmt::format("({}, {})", i, o) : fmt::format("({}, {})", o, i);
    };
    const std::string want_out = out < 0 ? "out" : std::to_string(out);
    const std::string found = as_written(std::to_string(m.rows()), std::to_string(m.cols()));
    // The transpose would fit: the matrix was most likely written in the other layout.
    const bool other_layout_fits = m.rows() == in && (out < 0 || m.cols() == out);
    fail(path,
         fmt::format("expected shape {} {}, found {}", as_written(want_out, std::to_string(in)),
                     why, found),
         other_layout_fits ? fmt::format("{} is the shape of the transpose: {}", found,
                                         transpose_hint(storage, key))
                           : layout_hint(storage, key));
  }

  Vector read_bias(const json& weights, std::string_view key, Index length,
                   std::string_view why) const {
    const std::string path = weights_path(key);
    Vector v = read_vector(weights[std::string(key)], path);
    if (v.size() != length) {
      fail(path, fmt::format("expected {} numbers {}, found {}", length, why, v.size()));
    }
    return v;
  }

  // Without Q/K/V weights, K and V are the key and value inputs themselves.
  void check_identity_widths(const Spec& spec) const {
    if (spec.learned_projections() || spec.key_source == KeySource::self) return;
    const auto check = [&](const char* key, Index width) {
      if (width == spec.embed_dim()) return;
      fail(key,
           fmt::format("expected {} columns like input (E = {}), found {}", spec.embed_dim(),
                       spec.embed_dim(), width),
           "without Q/K/V weights, K and V are the inputs themselves, and Q·Kᵀ needs rows of one "
           "width; give q_proj_weight (E, E), k_proj_weight (E, kdim) and v_proj_weight (E, vdim) "
           "to project them");
    };
    const bool kv = spec.key_source == KeySource::kv_input;
    check(kv ? "kv_input" : "key_input", spec.key_dim());
    if (!kv) check("value_input", spec.value_dim());
  }

  // The forms the Q/K/V weights come in. A packed form holds all three in one matrix (q, k, v in
  // that order); a separate form holds one matrix each.
  struct QkvForm {
    std::array<std::string_view, 3> weights;  // a packed form: weights[0] only
    std::array<std::string_view, 3> biases;   // a packed bias (also for q_proj_weight): [0] only
    bool packed;
    std::optional<WeightLayout> layout;  // none: "weight_layout" decides
    std::string_view module;             // what fixes the layout, for messages
    std::string_view split;              // how a packed matrix is split, for the note
  };
  static constexpr QkvForm qkv_forms[] = {
      {{"in_proj_weight"}, {"in_proj_bias"}, true, {}, {}, "in PyTorch's order"},
      {{"qkv.weight"},
       {"qkv.bias"},
       true,
       WeightLayout::torch,
       "an nn.Linear",
       "in the order its name gives"},
      {{"c_attn.weight"},
       {"c_attn.bias"},
       true,
       WeightLayout::math,
       "a GPT-2 Conv1D",
       "as GPT-2 splits it"},
      {{"q_proj_weight", "k_proj_weight", "v_proj_weight"}, {"in_proj_bias"}, false, {}, {}, {}},
      {{"W_q", "W_k", "W_v"}, {"b_q", "b_k", "b_v"}, false, {}, {}, {}},
      {{"linear_q.weight", "linear_k.weight", "linear_v.weight"},
       {"linear_q.bias", "linear_k.bias", "linear_v.bias"},
       false,
       WeightLayout::torch,
       "an nn.Linear",
       {}},
      {{"query.weight", "key.weight", "value.weight"},
       {"query.bias", "key.bias", "value.bias"},
       false,
       WeightLayout::torch,
       "an nn.Linear",
       {}},
  };

  // The first key of `form` that `weights` holds, if any. in_proj_bias, shared by two forms, does
  // not decide the form.
  static std::optional<std::string_view> form_key(const json& weights, const QkvForm& form) {
    for (const auto& keys : {form.weights, form.biases}) {
      for (std::string_view key : keys) {
        if (!key.empty() && key != "in_proj_bias" && weights.contains(std::string(key))) return key;
      }
    }
    return std::nullopt;
  }

  // The output projection's forms: PyTorch's, the input format's, GPT-2's Conv1D.
  struct OutForm {
    std::string_view weight, bias, label;
    std::optional<WeightLayout> layout;
    std::string_view module;
  };
  static constexpr OutForm out_forms[] = {
      {"out_proj.weight", "out_proj.bias", "out_proj.*", {}, {}},
      {"W_o", "b_o", "W_o/b_o", {}, {}},
      {"c_proj.weight", "c_proj.bias", "c_proj.*", WeightLayout::math, "a GPT-2 Conv1D"},
      {"proj.weight", "proj.bias", "proj.*", WeightLayout::torch, "an nn.Linear"},
  };

  // While reading the weights, messages name the file they come from.
  class WeightsFileScope {
   public:
    explicit WeightsFileScope(const Loader& loader) : loader_(loader) {
      loader_.message_file_ = &loader_.weights_file_;
    }
    ~WeightsFileScope() { loader_.message_file_ = &loader_.file_; }
    WeightsFileScope(const WeightsFileScope&) = delete;
    WeightsFileScope& operator=(const WeightsFileScope&) = delete;

   private:
    const Loader& loader_;
  };

  void read_weights(const json& root, Spec& spec) const {
    const json* weights = nullptr;
    if (external_weights_) {
      if (root.contains("weights")) {
        fail("weights", fmt::format("given here and with --weights {} too", weights_file_),
             "keep one: drop --weights, or the \"weights\" object of this file");
      }
      weights = external_weights_;
    } else if (root.contains("weights")) {
      weights = &root["weights"];
      if (!weights->is_object()) {
        fail("weights", fmt::format("expected an object of named weight matrices, found {}",
                                    describe(*weights)));
      }
    }
    if (!weights) return check_identity_widths(spec);
    const WeightsFileScope scope(*this);
    // A weights file's own top level has no path of its own: its keys are the paths.
    check_keys(*weights, weights_prefix_.empty() ? "" : weights_object_, weight_names());

    std::vector<const QkvForm*> forms;
    std::vector<std::string_view> form_keys;
    for (const QkvForm& form : qkv_forms) {
      if (const auto key = form_key(*weights, form)) {
        forms.push_back(&form);
        form_keys.push_back(*key);
      }
    }
    if (forms.size() > 1) {
      fail(weights_object_,
           fmt::format("two forms of the Q/K/V weights given at once: {}",
                       fmt::join(form_keys, " and ")),
           "give exactly one: in_proj_weight (packed), q_proj_weight/k_proj_weight/v_proj_weight, "
           "W_q/W_k/W_v, or one model's modules: linear_q/linear_k/linear_v, qkv, c_attn, "
           "query/key/value");
    }
    const QkvForm* form = forms.empty() ? nullptr : forms.front();
    if (weights->contains("in_proj_bias")) {
      if (!form) {
        fail(weights_path("in_proj_bias"), "given without in_proj_weight or q/k/v_proj_weight",
             "a bias needs the weights it belongs to");
      }
      if (form->biases[0] != "in_proj_bias") {
        fail(weights_path("in_proj_bias"),
             form->packed
                 ? fmt::format("given with {}, whose bias is {}", form->weights[0], form->biases[0])
                 : fmt::format("given with {}, whose biases are {}", fmt::join(form->weights, ", "),
                               fmt::join(form->biases, ", ")),
             form->packed
                 ? fmt::format("in_proj_bias goes with in_proj_weight; give it as {}",
                               form->biases[0])
                 : fmt::format("in_proj_bias goes with in_proj_weight or "
                               "q_proj_weight/k_proj_weight/v_proj_weight; split it into {} "
                               "(query, key, value, in that order)",
                               fmt::join(form->biases, ", ")));
      }
    }
    if (form) {
      const Storage storage = storage_of(spec, form->layout, form->module);
      if (form->packed) {
        read_packed(*weights, spec, *form, storage);
      } else {
        read_separate(*weights, spec, *form, storage);
      }
    }

    check_identity_widths(spec);
    const OutForm* out = read_out_proj(*weights, spec);
    read_bias_kv(*weights, spec);

    // Weights whose modules fix their layout (all of GPT-2's, say) are shown in that layout.
    std::vector<std::optional<WeightLayout>> layouts;
    if (form) layouts.push_back(form->layout);
    if (out) layouts.push_back(out->layout);
    const bool all_fixed =
        !layouts.empty() && std::all_of(layouts.begin(), layouts.end(), [&](const auto& layout) {
          return layout && *layout == *layouts.front();
        });
    if (!all_fixed || *layouts.front() == spec.weight_layout) return;
    if (root.contains("weight_layout")) {
      spec.notes.push_back(fmt::format(
          "weight_layout \"{}\" applies to none of these weights: {}'s module stores it {}",
          weight_layout_name(spec.weight_layout), form ? form->weights[0] : out->weight,
          *layouts.front() == WeightLayout::math ? "(in, out)" : "(out, in)"));
    }
    spec.weight_layout = *layouts.front();
  }

  // add_bias_kv's bias_k and bias_v: D numbers each, or PyTorch's (1, 1, D) parameter as it is.
  void read_bias_kv(const json& weights, Spec& spec) const {
    const bool k = weights.contains("bias_k"), v = weights.contains("bias_v");
    if (!k && !v) return;
    if (k != v) {
      fail(weights_path(k ? "bias_v" : "bias_k"),
           "missing: bias_k and bias_v come together (nn.MultiheadAttention's add_bias_kv)");
    }
    const Index model = spec.model_dim();
    const auto read = [&](const char* key) {
      const std::string path = weights_path(key);
      // (1, 1, D) and (1, D) are the same D numbers.
      const json* value = &weights[key];
      while (value->is_array() && value->size() == 1 && (*value)[0].is_array()) {
        value = &(*value)[0];
      }
      Vector bias = read_vector(*value, path);
      if (bias.size() != model) {
        fail(path, fmt::format("expected {} numbers, one per column of K and V (or PyTorch's "
                               "shape (1, 1, {})), found {}",
                               model, model, bias.size()));
      }
      return bias;
    };
    spec.bias_k = read("bias_k");
    spec.bias_v = read("bias_v");
  }

  void read_add_zero_attn(const json& root, Spec& spec) const {
    if (!root.contains("add_zero_attn")) return;
    const json& value = root["add_zero_attn"];
    if (!value.is_boolean()) {
      fail("add_zero_attn", fmt::format("expected true or false, found {}", describe(value)));
    }
    spec.add_zero_attn = value.get<bool>();
  }

  // One matrix holding W_q, W_k and W_v: (3D, E) as nn.Linear stores it, (E, 3D) as x·W uses it.
  void read_packed(const json& weights, Spec& spec, const QkvForm& form,
                   const Storage& storage) const {
    const std::string key(form.weights[0]);
    const std::string path = weights_path(key);
    if (!weights.contains(key)) {
      fail(path, fmt::format("missing: {} is given without it", form.biases[0]));
    }
    const Index embed = spec.embed_dim();
    if (spec.key_dim() != embed || spec.value_dim() != embed) {
      const std::string widths =
          spec.key_source == KeySource::kv_input
              ? fmt::format("kv_input has {} columns", spec.key_dim())
              : fmt::format("key_input has kdim = {} and value_input vdim = {} columns",
                            spec.key_dim(), spec.value_dim());
      fail(path, fmt::format("maps inputs of width E = {} only, but {}", embed, widths),
           fmt::format("nn.MultiheadAttention with kdim/vdim stores q_proj_weight (E, E), "
                       "k_proj_weight (E, kdim) and v_proj_weight (E, vdim) instead of {}",
                       key));
    }
    Matrix packed = read_matrix(weights[key], path);
    const bool math = storage.layout == WeightLayout::math;
    if (math) packed.transposeInPlace();
    if (packed.cols() != embed || packed.rows() % 3 != 0) {
      const Index rows = packed.rows() % 3 == 0 ? packed.rows() : 3 * embed;
      const bool transposed_fits = packed.rows() == embed && packed.cols() % 3 == 0;
      const auto as_written = [&](Index o, Index i) {
        return math ? shape_text({i, o}) : shape_text({o, i});
      };
      const std::string found = as_written(packed.rows(), packed.cols());
      std::string hint;
      if (transposed_fits) {
        hint = fmt::format(
            "{} is the shape of the transpose: {}", found,
            !storage.module.empty() ? transpose_hint(storage, key)
            : math ? "for nn.MultiheadAttention's (3E, E) matrix, set \"weight_layout\": \"torch\""
                   : "for an (E, 3E) matrix used as x·W, set \"weight_layout\": \"math\"");
      } else {
        hint = fmt::format(
            "{} stacks W_q, W_k and W_v, each (E, E) = ({}, {}) in "
            "nn.MultiheadAttention{}",
            key, embed, embed,
            !storage.module.empty() ? fmt::format("; {}", layout_hint(storage, key))
            : math                  ? ", transposed for weight_layout \"math\""
                                    : "");
      }
      fail(path,
           fmt::format("expected shape {} for embed dim {}, found {}", as_written(rows, embed),
                       embed, found),
           hint);
    }
    const Index model = packed.rows() / 3;
    spec.q_proj = Linear{packed.topRows(model), std::nullopt};
    spec.k_proj = Linear{packed.middleRows(model, model), std::nullopt};
    spec.v_proj = Linear{packed.bottomRows(model), std::nullopt};
    spec.notes.push_back(
        storage.module.empty()
            ? fmt::format("{} was split {}: query, key, value ({} rows each{})", key, form.split,
                          model, math ? ", after transposing the (in, out) matrix" : "")
            : fmt::format("{} ({} weight, stored {}) was split {}: query, key, value ({} {} each)",
                          key, storage.module, math ? "(in, out)" : "(out, in)", form.split, model,
                          math ? "columns" : "rows"));
    if (weights.contains(std::string(form.biases[0]))) split_packed_bias(weights, spec, form);
  }

  void split_packed_bias(const json& weights, Spec& spec, const QkvForm& form) const {
    const Index model = spec.model_dim();
    const Vector bias = read_bias(weights, form.biases[0], 3 * model,
                                  fmt::format("(b_q, b_k, b_v stacked, {} each)", model));
    spec.q_proj->bias = bias.segment(0, model);
    spec.k_proj->bias = bias.segment(model, model);
    spec.v_proj->bias = bias.segment(2 * model, model);
  }

  void read_separate(const json& weights, Spec& spec, const QkvForm& form,
                     const Storage& storage) const {
    const auto& keys = form.weights;
    for (std::string_view key : keys) {
      if (!weights.contains(std::string(key))) {
        fail(weights_path(key),
             fmt::format("missing: {}, {} and {} come together", keys[0], keys[1], keys[2]));
      }
    }
    const Index embed = spec.embed_dim();
    const std::string why = fmt::format("for embed dim {}", embed);
    spec.q_proj = Linear{read_weight(weights, keys[0], embed, -1, storage, why), std::nullopt};
    const Index model = spec.q_proj->weight.rows();
    // K and V read the key and value inputs, which in cross-attention have widths of their own.
    const auto width = [&](Index in, std::string_view source, std::string_view dim) {
      return spec.key_source == KeySource::self
                 ? fmt::format("for embed dim {}, like {}", embed, keys[0])
                 : fmt::format("for {} = {} (the width of {}), with {} outputs like {}", dim, in,
                               source, model, keys[0]);
    };
    const bool kv = spec.key_source == KeySource::kv_input;
    spec.k_proj = Linear{read_weight(weights, keys[1], spec.key_dim(), model, storage,
                                     width(spec.key_dim(), kv ? "kv_input" : "key_input", "kdim")),
                         std::nullopt};
    spec.v_proj =
        Linear{read_weight(weights, keys[2], spec.value_dim(), model, storage,
                           width(spec.value_dim(), kv ? "kv_input" : "value_input", "vdim")),
               std::nullopt};

    if (form.biases[1].empty()) {  // q_proj_weight & co. take in_proj_bias, packed
      if (weights.contains(std::string(form.biases[0]))) split_packed_bias(weights, spec, form);
      return;
    }
    const std::string why_bias = fmt::format("for projection width {}", model);
    std::optional<Vector>* biases[] = {&spec.q_proj->bias, &spec.k_proj->bias, &spec.v_proj->bias};
    for (std::size_t i = 0; i < 3; ++i) {
      const std::string key(form.biases[i]);
      if (weights.contains(key)) *biases[i] = read_bias(weights, key, model, why_bias);
    }
  }

  // The output projection, if there is one; returns the form it came in.
  const OutForm* read_out_proj(const json& weights, Spec& spec) const {
    std::vector<const OutForm*> forms;
    for (const OutForm& form : out_forms) {
      if (weights.contains(std::string(form.weight)) || weights.contains(std::string(form.bias))) {
        forms.push_back(&form);
      }
    }
    if (forms.empty()) return nullptr;
    if (forms.size() > 1) {
      fail(weights_object_,
           fmt::format("two forms of the output projection given at once: {} and {}",
                       forms[0]->label, forms[1]->label),
           "give exactly one");
    }
    const OutForm& form = *forms.front();
    if (!weights.contains(std::string(form.weight))) {
      fail(weights_path(form.weight), fmt::format("missing: {} is given without it", form.bias));
    }
    const Index model = spec.model_dim();
    Linear out{
        read_weight(weights, form.weight, model, -1, storage_of(spec, form.layout, form.module),
                    fmt::format("to map the context of width {}", model)),
        std::nullopt};
    if (weights.contains(std::string(form.bias))) {
      out.bias = read_bias(weights, form.bias, out.weight.rows(),
                           fmt::format("(one per output of {})", form.weight));
    }
    spec.out_proj = std::move(out);
    return &form;
  }

  // The leaves of `n`, `rows` × `cols` each, as matrices in order.
  static std::vector<Matrix> blocks(const std::vector<double>& values, std::size_t rows,
                                    std::size_t cols) {
    std::vector<Matrix> out;
    for (std::size_t start = 0; start < values.size(); start += rows * cols) {
      out.push_back(Eigen::Map<const Matrix>(values.data() + start, static_cast<Index>(rows),
                                             static_cast<Index>(cols)));
    }
    return out;
  }

  void read_masks(const json& root, Spec& spec) const {
    const std::size_t L = static_cast<std::size_t>(spec.q_len());
    const std::size_t S = static_cast<std::size_t>(spec.kv_len());
    const std::size_t B = spec.inputs.size(), H = static_cast<std::size_t>(spec.num_heads);
    const std::string LS = fmt::format("(L, S) = ({}, {})", L, S);
    const std::string counts =
        fmt::format("one row per query token ({}) and one column per key token ({})", L, S);
    if (root.contains("mask")) read_keep_mask(root["mask"], spec, L, S, B, LS, counts);
    if (root.contains("attn_mask")) read_attn_mask(root["attn_mask"], spec, L, S, B, H, LS, counts);
    if (root.contains("key_padding_mask"))
      read_key_padding_mask(root["key_padding_mask"], spec, S, B);
  }

  void read_keep_mask(const json& value, Spec& spec, std::size_t L, std::size_t S, std::size_t B,
                      const std::string& LS, const std::string& counts) const {
    KeepMask mask;
    if (value.is_string()) {
      if (value != "causal") {
        fail("mask",
             fmt::format("expected \"causal\" or a 0/1 matrix {}, found {}", LS, describe(value)),
             "\"causal\" lets query i attend keys j ≤ i; a matrix says 1 = may attend, 0 = "
             "blocked for each query (row) and key (column)");
      }
      mask.causal = true;
      mask.keep.push_back(causal_keep(spec.q_len(), spec.kv_len()));
      spec.masks.mask = std::move(mask);
      return;
    }
    const Nested n = read_nested(value, "mask");
    const bool plain = n.shape == std::vector<std::size_t>{L, S};
    const bool per_batch = spec.batched && n.shape == std::vector<std::size_t>{B, L, S};
    if (!plain && !per_batch) {
      fail("mask",
           fmt::format("expected shape {}{}, {}, found {}", LS,
                       spec.batched ? fmt::format(" or (B, L, S) = ({}, {}, {})", B, L, S) : "",
                       counts, shape_text(n.shape)),
           !spec.batched && n.shape.size() == 3 ? "a (B, L, S) mask is for batched input" : "");
    }
    std::vector<double> values;
    values.reserve(n.leaves.size());
    for (std::size_t i = 0; i < n.leaves.size(); ++i) {
      const json& leaf = *n.leaves[i];
      if (leaf.is_number() && (leaf.get<double>() == 0 || leaf.get<double>() == 1)) {
        values.push_back(leaf.get<double>());
        continue;
      }
      fail(leaf_path("mask", n, i),
           fmt::format("expected 0 or 1 (1 = may attend, 0 = blocked), found {}", describe(leaf)),
           leaf.is_boolean()
               ? "true/false is attn_mask's convention, where true = blocked; write 1/0 here, or "
                 "use attn_mask"
               : "");
    }
    mask.per_batch = per_batch;
    mask.keep = blocks(values, L, S);
    spec.masks.mask = std::move(mask);
  }

  void read_attn_mask(const json& value, Spec& spec, std::size_t L, std::size_t S, std::size_t B,
                      std::size_t H, const std::string& LS, const std::string& counts) const {
    const Nested n = read_nested(value, "attn_mask");
    const std::size_t blocks_3d = spec.batched ? B * H : H;
    const bool plain = n.shape == std::vector<std::size_t>{L, S};
    const bool per_head = n.shape == std::vector<std::size_t>{blocks_3d, L, S};
    if (!plain && !per_head) {
      fail("attn_mask",
           fmt::format("expected shape {} or {} = ({}, {}, {}), {}, found {}", LS,
                       spec.batched ? "(B·H, L, S)" : "(H, L, S)", blocks_3d, L, S, counts,
                       shape_text(n.shape)),
           "nn.MultiheadAttention's attn_mask is (L, S) for every batch and head, or 3-D with one "
           "(L, S) block per head (block b·H + h is batch b, head h)");
    }
    AttnMask mask;
    mask.per_head = per_head && !plain;
    mask.boolean = n.leaves.front()->is_boolean();
    std::vector<double> values;
    values.reserve(n.leaves.size());
    bool zero_or_one = true, any_one = false;
    for (std::size_t i = 0; i < n.leaves.size(); ++i) {
      const json& leaf = *n.leaves[i];
      const std::string where = fmt::format("attn_mask{}", repeat_index(n.shape.size()));
      if (mask.boolean) {
        if (!leaf.is_boolean()) {
          fail(leaf_path("attn_mask", n, i),
               fmt::format("expected a boolean like {}, found {}", where, describe(leaf)),
               "attn_mask is either booleans (true = blocked) or numbers added to the scores, "
               "not both");
        }
        values.push_back(leaf.get<bool>() ? 1.0 : 0.0);
        continue;
      }
      if (leaf.is_number()) {
        const double number = read_number(leaf, leaf_path("attn_mask", n, i));
        zero_or_one = zero_or_one && (number == 0 || number == 1);
        any_one = any_one || number == 1;
        values.push_back(number);
        continue;
      }
      if (leaf == "-inf") {
        zero_or_one = false;
        values.push_back(-std::numeric_limits<double>::infinity());
        continue;
      }
      fail(leaf_path("attn_mask", n, i),
           fmt::format("expected a number or \"-inf\" like {}, found {}", where, describe(leaf)),
           leaf.is_boolean() ? "attn_mask is either booleans (true = blocked) or numbers added to "
                               "the scores, not both"
           : !leaf.is_string() ? ""
           : leaf.get<std::string>().starts_with('-')
               ? "write −∞ as the string \"-inf\", exactly"
               : "only \"-inf\" blocks; +inf or nan would make the softmax nan");
    }
    if (zero_or_one && any_one) {
      spec.warnings.push_back(
          "masking: attn_mask holds only the numbers 0 and 1: a float attn_mask is added to the "
          "scaled scores, so it adds 0 or 1 and blocks nothing. To block, write true where "
          "blocked (booleans), \"-inf\" where blocked, or use \"mask\" with 1 = may attend, "
          "0 = blocked");
    }
    mask.blocks = blocks(values, L, S);
    spec.masks.attn_mask = std::move(mask);
  }

  void read_key_padding_mask(const json& value, Spec& spec, std::size_t S, std::size_t B) const {
    const Nested n = read_nested(value, "key_padding_mask");
    const bool ok = spec.batched ? n.shape == std::vector<std::size_t>{B, S}
                                 : n.shape == std::vector<std::size_t>{S};
    if (!ok) {
      fail("key_padding_mask",
           spec.batched ? fmt::format("expected shape (B, S) = ({}, {}), one row per batch and one "
                                      "column per key token, found {}",
                                      B, S, shape_text(n.shape))
                        : fmt::format("expected shape (S) = ({}), one per key token, found {}", S,
                                      shape_text(n.shape)));
    }
    KeyPaddingMask mask;
    for (std::size_t b = 0; b < (spec.batched ? B : 1); ++b) {
      Vector ignore(static_cast<Index>(S));
      for (std::size_t j = 0; j < S; ++j) {
        const std::size_t flat = b * S + j;
        const json& leaf = *n.leaves[flat];
        if (!leaf.is_boolean()) {
          fail(leaf_path("key_padding_mask", n, flat),
               fmt::format("expected true or false (true = that key is ignored), found {}",
                           describe(leaf)),
               "key_padding_mask is nn.MultiheadAttention's: true marks a padding key; for the "
               "tutorials' 1 = may attend, 0 = blocked, use \"mask\"");
        }
        ignore(static_cast<Index>(j)) = leaf.get<bool>() ? 1.0 : 0.0;
      }
      mask.ignore.push_back(std::move(ignore));
    }
    spec.masks.key_padding_mask = std::move(mask);
  }

  // "published": {STAGE: {TENSOR: {"values": [...], "decimals": N, "note": "..."}}}: what a source
  // printed. Whether the stage has that tensor, and its shape, is checked against the trace
  // (check_published), which alone knows them.
  void read_published(const json& root, Spec& spec) const {
    if (!root.contains("published")) return;
    const json& published = root["published"];
    const char* form =
        "an object: stage id → tensor name → {\"values\": [...], \"decimals\": N, \"note\": "
        "\"...\"}";
    if (!published.is_object()) {
      fail("published", fmt::format("expected {}, found {}", form, describe(published)));
    }
    const auto ids = stage_names();
    for (const auto& item : published.items()) {
      const std::string& stage = item.key();
      const json& tensors = item.value();
      const std::string stage_path = "published." + excerpt(stage);
      const std::optional<StageId> id = stage_named(stage);
      if (!id) {
        const auto suggestion = nearest(stage, ids);
        fail(stage_path,
             fmt::format("unknown stage \"{}\"{}", excerpt(stage),
                         suggestion ? fmt::format("; did you mean \"{}\"?", *suggestion) : ""),
             fmt::format("stages are: {}", fmt::join(ids, ", ")));
      }
      if (!tensors.is_object()) {
        fail(stage_path, fmt::format("expected {}, found {}", form, describe(tensors)));
      }
      for (const auto& entry_item : tensors.items()) {
        const std::string& tensor = entry_item.key();
        const json& entry = entry_item.value();
        const std::string path = stage_path + "." + excerpt(tensor);
        if (!entry.is_object()) {
          fail(path, fmt::format("expected {{\"values\": [...], \"decimals\": N}}, found {}",
                                 describe(entry)));
        }
        constexpr std::string_view entry_keys[] = {"values", "decimals", "note"};
        check_keys(entry, path, entry_keys);
        if (!entry.contains("values")) {
          fail(path + ".values", "missing: the numbers as the source printed them");
        }
        PublishedTensor p;
        p.stage = *id;
        p.tensor = tensor;
        const Nested n = read_nested(entry["values"], path + ".values");
        p.shape = n.shape;
        for (std::size_t i = 0; i < n.leaves.size(); ++i) {
          p.values.push_back(read_number(*n.leaves[i], leaf_path(path + ".values", n, i)));
        }
        if (entry.contains("decimals")) {
          const json& decimals = entry["decimals"];
          if (!decimals.is_number_integer() || decimals.get<int>() < 0 ||
              decimals.get<int>() > 15) {
            fail(path + ".decimals",
                 fmt::format("expected a whole number from 0 to 15 (the decimals the source "
                             "printed), found {}",
                             describe(decimals)));
          }
          p.decimals = decimals.get<int>();
        }
        p.note = optional_string(entry, "note", path);
        spec.published.push_back(std::move(p));
      }
    }
  }

  void read_num_heads(const json& root, Spec& spec) const {
    const Index model = spec.model_dim();
    // --heads replaces the file's num_heads; messages name whichever was used.
    const std::string source = heads_flag_ ? "--heads" : "num_heads";
    if (heads_flag_) {
      if (*heads_flag_ < 1 || *heads_flag_ > model) {
        fail(source,
             fmt::format("expected a whole number from 1 to {} (the width of Q, K and V), found {}",
                         model, *heads_flag_),
             fmt::format("head counts that divide {}: {}", model,
                         fmt::join(head_counts(model), ", ")));
      }
      spec.num_heads = *heads_flag_;
      if (root.contains("num_heads") && root["num_heads"] != *heads_flag_) {
        spec.notes.push_back(fmt::format("{} heads, from --heads (the file says num_heads {})",
                                         spec.num_heads, excerpt(root["num_heads"].dump())));
      }
    } else if (root.contains("num_heads")) {
      const json& value = root["num_heads"];
      // 2 and 2.0 are the same count; 1.5, 0 and -1 are not counts.
      const double heads = value.is_number() ? value.get<double>() : 0;
      if (!value.is_number() || heads < 1 || heads != std::floor(heads)) {
        fail(source, fmt::format("expected a whole number ≥ 1, found {}", describe(value)));
      }
      if (heads > static_cast<double>(model)) {
        fail(source, fmt::format("expected at most {} (the width of Q, K and V), found {}", model,
                                 value.dump()));
      }
      spec.num_heads = static_cast<Index>(heads);
    } else if (external_weights_) {
      // A state_dict holds the weights but not the head count (nn.MultiheadAttention keeps it as
      // an attribute): one head would be a guess, and a wrong guess changes every number.
      fail("num_heads",
           fmt::format("missing: the weights come from {}, and a state_dict does not record the "
                       "number of heads",
                       weights_file_),
           fmt::format("give it with --heads N, or as \"num_heads\": N in {}; N divides the width "
                       "of Q, K and V ({}): {}",
                       file_, model, fmt::join(head_counts(model), ", ")));
    }
    if (model % spec.num_heads != 0) {
      fail(source,
           fmt::format("{} does not divide the width of Q, K and V ({}), so the heads cannot be "
                       "equal slices",
                       spec.num_heads, model),
           fmt::format("head counts that would: {}", fmt::join(head_counts(model), ", ")));
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
  // The weights: from the input's "weights" object, or (external_weights_) from a file of their
  // own, whose keys messages write with the layer's prefix.
  const json* external_weights_ = nullptr;
  std::string weights_file_ = file_;
  std::string weights_prefix_ = "weights.";
  std::string weights_object_ = "weights";
  std::optional<Index> heads_flag_;  // --heads
  // The file messages name: the input, or the weights file while its weights are read.
  mutable const std::string* message_file_ = &file_;
};

// A layer's prefix as messages show it: quoted, "" for the top level, safe for a terminal.
std::string quoted_layer(std::string_view prefix) {
  return prefix.empty() ? "\"\" (the top level)" : fmt::format("\"{}\"", excerpt(prefix));
}

// The layers' prefixes as a message lists them: at most a dozen.
std::string list_layers(const std::vector<std::string>& layers) {
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < layers.size() && i < 12; ++i)
    shown.push_back(quoted_layer(layers[i]));
  if (layers.size() > shown.size()) shown.push_back(fmt::format("and {} more", layers.size() - 12));
  return fmt::format("{}", fmt::join(shown, ", "));
}

// The --weights-prefix that picks `prefix`, as a user types it.
std::string prefix_flag(std::string_view prefix) {
  return prefix.empty() ? "--weights-prefix \"\"" : "--weights-prefix " + excerpt(prefix);
}

// One attention layer of a state_dict: the layer --weights-prefix names, or the only one there is.
// Returns its weights, their keys without the prefix, moved out of `document`; sets `prefix`, and
// adds to `notes` what the reader should know about the choice.
json select_layer(json& document, const WeightsFile& weights, std::string& prefix,
                  std::vector<std::string>& notes) {
  const std::string& file = weights.file;
  if (!document.is_object()) {
    fail_value(file, "(top level)",
               fmt::format("expected a JSON object of named weights (a state_dict), found {}",
                           describe(document)),
               state_dict_hint);
  }
  std::vector<std::string> keys;
  for (const auto& item : document.items()) keys.push_back(item.key());
  const std::vector<std::string> layers = attention_layers(keys);

  if (layers.empty()) {
    std::string hint = fmt::format(
        "a layer's Q/K/V weights go by one of these names, under any prefix: in_proj_weight, "
        "q_proj_weight, W_q, linear_q.weight, qkv.weight, c_attn.weight, query.weight; {}",
        state_dict_hint);
    if (document.contains("input") || document.contains("weights")) {
      hint =
          "this looks like an input file: give it as FILE (or --input), and only a state_dict "
          "as --weights";
    } else {
      for (const std::string& key : keys) {
        const std::size_t dot = key.rfind('.', key.size() > 7 ? key.size() - 8 : 0);
        const std::string last = dot == std::string::npos ? key : key.substr(dot + 1);
        if (const auto near = nearest(last, weight_names())) {
          hint = fmt::format("did you mean \"{}\" for \"{}\"?", *near, excerpt(key));
          break;
        }
      }
    }
    fail_file(file,
              fmt::format("found no attention layer's Q/K/V weights among its {} key{}",
                          keys.size(), keys.size() == 1 ? "" : "s"),
              hint);
  }
  if (weights.prefix) {
    prefix = layer_prefix(*weights.prefix);
    if (std::find(layers.begin(), layers.end(), prefix) == layers.end()) {
      const std::vector<std::string_view> names(layers.begin(), layers.end());
      const auto near = nearest(prefix, names);
      fail_value(file, fmt::format("--weights-prefix {}", excerpt(*weights.prefix)),
                 fmt::format("no attention layer has that prefix; the file's {}: {}",
                             layers.size() == 1 ? "layer is" : "layers are", list_layers(layers)),
                 near ? fmt::format("did you mean {}?", prefix_flag(*near)) : "");
    }
  } else if (layers.size() > 1) {
    fail_file(file,
              fmt::format("holds {} attention layers: {}; pick one with --weights-prefix",
                          layers.size(), list_layers(layers)),
              fmt::format("for example {}", prefix_flag(layers.front())));
  } else {
    prefix = layers.front();
  }

  // The layer's keys: those whose nearest layer is this one (a layer at the top level must not
  // take in the keys of the model's other layers).
  const std::unordered_set<std::string_view> layer_set(layers.begin(), layers.end());
  const bool gpt2 = document.contains(prefix + "c_attn.weight");
  json layer = json::object();
  std::vector<std::string> skipped;
  for (auto& item : document.items()) {
    const auto owner = layer_of(item.key(), layer_set);
    if (!owner || *owner != prefix) continue;
    std::string key = item.key().substr(prefix.size());
    // GPT-2's attention keeps its causal mask as buffers, which older versions of transformers
    // (and nanoGPT) save with the weights.
    if (gpt2 && (key == "bias" || key == "masked_bias")) {
      skipped.push_back(key);
      continue;
    }
    layer.emplace(std::move(key), std::move(item.value()));
  }
  // The layer first: a long file name must not push it onto the note's next line.
  notes.push_back(fmt::format("weights: {} of {} ({} of its {} key{})",
                              prefix.empty() ? "the top level" : "layer " + quoted_layer(prefix),
                              file, layer.size(), keys.size(), keys.size() == 1 ? "" : "s"));
  if (!skipped.empty()) {
    notes.push_back(
        fmt::format("{} skipped: GPT-2's causal-mask buffer{}, not weights; GPT-2 is "
                    "causal, so give \"mask\": \"causal\"",
                    fmt::join(skipped, " and "), skipped.size() == 1 ? "" : "s"));
  }
  return layer;
}

}  // namespace

Spec load_spec(std::string_view text, const std::string& file, const LoadOptions& options) {
  json document = loader::parse_document(text, file, DocumentKind::input);
  if (!options.weights) {
    Spec spec = Loader(file, options.num_heads).load(document);
    loader::dismantle(document);
    return spec;
  }
  const WeightsFile& weights = *options.weights;
  json state_dict = loader::parse_document(weights.text, weights.file, DocumentKind::state_dict);
  std::string prefix;
  std::vector<std::string> notes;
  json layer = select_layer(state_dict, weights, prefix, notes);
  Spec spec = Loader(file, layer, weights.file, prefix, options.num_heads).load(document);
  spec.notes.insert(spec.notes.begin(), notes.begin(), notes.end());
  loader::dismantle(document);
  loader::dismantle(layer);
  loader::dismantle(state_dict);
  return spec;
}

Spec load_spec_file(const std::string& path, std::uint64_t max_bytes, const LoadOptions& options) {
  return load_spec(read_input_file(path, max_bytes), path == "-" ? "<stdin>" : path, options);
}

}  // namespace attn_trace
