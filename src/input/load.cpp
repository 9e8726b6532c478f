// JSON → Spec: the driver. Every check of the input happens once, in the parts it calls in order
// (load_parts.hpp), and each failure names the file, the JSON path, what was expected and what was
// found (input_error.hpp). See docs/input-format.md.
#include "attn_trace/input/load.hpp"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "attn_trace/input/state_dict.hpp"
#include "input_error.hpp"
#include "json_document.hpp"
#include "json_values.hpp"
#include "load_parts.hpp"

namespace attn_trace {
namespace {

using namespace loader;

// Every key an input's top level may have.
constexpr std::string_view root_keys[] = {
    "input",     "tokens",        "name",      "description",      "source",        "num_heads",
    "scale",     "weight_layout", "weights",   "kv_input",         "key_input",     "value_input",
    "kv_tokens", "mask",          "attn_mask", "key_padding_mask", "add_zero_attn", "published"};

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
  json document = parse_document(text, file, DocumentKind::input);
  if (!options.weights) {
    const Reading reading{file, {nullptr, file}, options.num_heads};
    Spec spec = read_spec(reading, document);
    dismantle(document);
    return spec;
  }
  const WeightsFile& weights = *options.weights;
  json state_dict = parse_document(weights.text, weights.file, DocumentKind::state_dict);
  std::string prefix;
  std::vector<std::string> notes;
  json layer = select_layer(state_dict, weights, prefix, notes);
  // Messages write the layer's keys with its prefix, and the layer as a whole by its name.
  const std::string object = prefix.empty()      ? "(top level)"
                             : prefix.size() > 1 ? excerpt(prefix.substr(0, prefix.size() - 1))
                                                 : excerpt(prefix);
  const Reading reading{file, {&layer, weights.file, excerpt(prefix), object}, options.num_heads};
  Spec spec = read_spec(reading, document);
  spec.notes.insert(spec.notes.begin(), notes.begin(), notes.end());
  dismantle(document);
  dismantle(layer);
  dismantle(state_dict);
  return spec;
}

Spec load_spec_file(const std::string& path, std::uint64_t max_bytes, const LoadOptions& options) {
  return load_spec(read_input_file(path, max_bytes), path == "-" ? "<stdin>" : path, options);
}

}  // namespace attn_trace
