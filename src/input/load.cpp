// JSON → Spec: the driver. Every check of the input happens once, in the parts it calls in order
// (load_parts.hpp), and each failure names the file, the JSON path, what was expected and what was
// found (input_error.hpp). See docs/input-format.md.
#include "attn_trace/input/load.hpp"

#include <fmt/format.h>

#include "attn_trace/input/state_dict.hpp"
#include "input_error.hpp"
#include "json_document.hpp"
#include "json_values.hpp"
#include "load_parts.hpp"
#include "mapped_file.hpp"
#include "numpy.hpp"
#include "safetensors.hpp"
#include "select_layer.hpp"

namespace attn_trace {
namespace {

using namespace loader;

// Every key an input's top level may have.
constexpr std::string_view root_keys[] = {
    "input",     "tokens",        "name",      "description",      "source",        "num_heads",
    "scale",     "weight_layout", "weights",   "kv_input",         "key_input",     "value_input",
    "kv_tokens", "mask",          "attn_mask", "key_padding_mask", "add_zero_attn", "published",
    "rope"};

// The top level of an input: an object, not a state_dict given in its place, of known keys only.
void check_root(const Reading& reading, const json& root) {
  if (!root.is_object()) {
    fail_value(
        reading.file, "(top level)",
        fmt::format("expected a JSON object with an \"input\" matrix, found {}", describe(root)),
        root.is_array() ? "wrap the matrix in an object: {\"input\": [[...], ...]}" : "");
  }
  if (!root.contains("input")) {
    std::vector<std::string> keys;
    for (const auto& item : root.items()) keys.push_back(item.key());
    if (!attention_layers(keys).empty()) {
      fail_value(reading.file, "(top level)",
                 "this file holds weights only (a state_dict), not an input",
                 "give it with --weights FILE, and the input matrix in a file of its own with "
                 "--input (docs/input-format.md)");
    }
  }
  check_keys(reading.file, root, "", root_keys);
}

// The Spec of one input document, every part of it checked.
Spec read_spec(const Reading& reading, const json& root) {
  check_root(reading, root);
  Spec spec;
  spec.name = optional_string(reading.file, root, "name");
  spec.description = optional_string(reading.file, root, "description");
  spec.source = optional_string(reading.file, root, "source");
  read_input(reading, root, spec);       // X: (L, E), or (B, L, E)
  read_key_inputs(reading, root, spec);  // cross-attention's K and V sources: (S, kdim), (S, vdim)
  read_tokens(reading, root, spec);      // now L, S and every width are known
  read_layout(reading, root, spec);      // before the weights, which it lays out
  read_weights(reading, root, spec);     // now D, the width of Q, K and V, is known
  read_num_heads(reading, root, spec);   // H divides D
  read_scale(reading, root, spec);
  read_add_zero_attn(reading, root, spec);
  read_masks(reading, root, spec);  // a 3-D attn_mask has one block per head
  read_published(reading, root, spec);
  return spec;
}

// The weights of `layer`, from a --weights file: messages write its keys with the layer's prefix
// ("h.0.attn.c_attn.weight") and the layer as a whole by its name ("h.0.attn", "(top level)").
WeightsSource layer_source(const SelectedLayer& layer, const std::string& file) {
  const std::string& prefix = layer.prefix;
  return {&layer.weights, file, excerpt(prefix),
          prefix.empty()      ? "(top level)"
          : prefix.size() > 1 ? excerpt(prefix.substr(0, prefix.size() - 1))
                              : excerpt(prefix)};
}

}  // namespace

Spec load_spec(std::string_view text, const std::string& file, const LoadOptions& options) {
  // NumPy's files become the document an input file with the same arrays would be.
  json document = is_numpy(text) ? numpy_document(text, file, options.max_unpacked)
                                 : parse_document(text, file, DocumentKind::input);
  if (!options.weights) {
    // The weights, if any, are the input's own "weights" object.
    const Reading reading{file, {nullptr, file}, options.num_heads, options.rope, options.tokens};
    Spec spec = read_spec(reading, document);
    dismantle(document);
    return spec;
  }
  const WeightsFile& weights = *options.weights;
  // A safetensors file's layer is chosen from its header alone; then only its tensors are read.
  std::optional<SafetensorsIndex> tensors;
  json state_dict;
  if (weights.format == WeightsFormat::safetensors) {
    tensors = read_safetensors_index(weights.mapped ? weights.mapped->bytes() : weights.text,
                                     weights.file);
    state_dict = placeholder_state_dict(*tensors);
  } else {
    state_dict = parse_document(weights.text, weights.file, DocumentKind::state_dict);
  }
  SelectedLayer layer = select_layer(state_dict, weights);
  if (tensors) read_layer_values(*tensors, layer.weights, weights, layer.prefix);
  const Reading reading{file, layer_source(layer, weights.file), options.num_heads, options.rope,
                        options.tokens};
  Spec spec = read_spec(reading, document);
  spec.notes.insert(spec.notes.begin(), layer.notes.begin(), layer.notes.end());
  dismantle(document);
  dismantle(layer.weights);
  dismantle(state_dict);
  return spec;
}

Spec load_spec_file(const std::string& path, std::uint64_t max_bytes, const LoadOptions& options) {
  return load_spec(read_input_file(path, max_bytes), path == "-" ? "<stdin>" : path, options);
}

}  // namespace attn_trace
