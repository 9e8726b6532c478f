// The names of one attention layer's weights, the layers of a state_dict, and the choice of one
// of them (select_layer.hpp).
#include "attn_trace/input/state_dict.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "attn_trace/core/suggest.hpp"
#include "attn_trace/core/text.hpp"
#include "input_error.hpp"
#include "json_values.hpp"
#include "select_layer.hpp"

namespace attn_trace {
namespace {

// clang-format off
constexpr std::array<std::string_view, 60> names = {
    // nn.MultiheadAttention's own parameters.
    "in_proj_weight", "in_proj_bias", "q_proj_weight", "k_proj_weight", "v_proj_weight",
    "out_proj.weight", "out_proj.bias", "bias_k", "bias_v",
    // The input format's plain names.
    "W_q", "W_k", "W_v", "b_q", "b_k", "b_v", "W_o", "b_o",
    // Seed 001's MySelfAttention: three nn.Linear modules.
    "linear_q.weight", "linear_q.bias", "linear_k.weight", "linear_k.bias",
    "linear_v.weight", "linear_v.bias",
    // Seed 004's SelfAttention (and timm's ViT attention): one packed nn.Linear.
    "qkv.weight", "qkv.bias",
    // GPT-2's attention (Hugging Face): Conv1D modules, stored (in, out).
    "c_attn.weight", "c_attn.bias", "c_proj.weight", "c_proj.bias",
    // BART, OPT, Whisper, M2M100 and fairseq (with out_proj.*), the Llama family (with o_proj.*):
    // nn.Linear modules, each bias optional on its own.
    "q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias",
    "o_proj.weight", "o_proj.bias",
    // BERT's self-attention module alone (Hugging Face): three nn.Linear modules.
    "query.weight", "query.bias", "key.weight", "key.bias", "value.weight", "value.bias",
    // Hugging Face's BERT and RoBERTa attention (attention.self.*, attention.output.dense), and
    // ViT's (attention.attention.*, attention.output.dense), under the prefix "….attention.".
    "self.query.weight", "self.query.bias", "self.key.weight", "self.key.bias",
    "self.value.weight", "self.value.bias",
    "attention.query.weight", "attention.query.bias", "attention.key.weight",
    "attention.key.bias", "attention.value.weight", "attention.value.bias",
    "output.dense.weight", "output.dense.bias",
    // timm's ViT attention: its output nn.Linear.
    "proj.weight", "proj.bias"};

constexpr std::array<std::string_view, 24> qkv_names = {
    "in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
    "W_q", "W_k", "W_v",
    "linear_q.weight", "linear_k.weight", "linear_v.weight",
    "qkv.weight", "c_attn.weight",
    "q_proj.weight", "k_proj.weight", "v_proj.weight",
    "query.weight", "key.weight", "value.weight",
    "self.query.weight", "self.key.weight", "self.value.weight",
    "attention.query.weight", "attention.key.weight", "attention.value.weight"};
// clang-format on

}  // namespace

std::span<const std::string_view> weight_names() {
  return names;
}

bool is_qkv_weight_name(std::string_view name) {
  return std::find(qkv_names.begin(), qkv_names.end(), name) != qkv_names.end();
}

std::vector<std::string> attention_layers(std::span<const std::string> keys) {
  std::vector<std::string> layers;
  std::unordered_set<std::string_view> seen;  // views into `keys`
  for (const std::string& key : keys) {
    // The longest name that ends the key decides: BERT's "….attention.self.query.weight" is the
    // layer "….attention." (self.query.weight, with output.dense beside it), not also
    // "….attention.self." (query.weight).
    std::size_t longest = 0;
    for (std::string_view name : qkv_names) {
      if (name.size() <= longest || !key.ends_with(name)) continue;
      const std::size_t prefix_length = key.size() - name.size();
      if (prefix_length > 0 && key[prefix_length - 1] != '.') continue;
      longest = name.size();
    }
    if (longest == 0) continue;
    const std::size_t prefix_length = key.size() - longest;
    if (seen.insert(std::string_view(key).substr(0, prefix_length)).second) {
      layers.push_back(key.substr(0, prefix_length));
    }
  }
  return layers;
}

std::optional<std::string_view> layer_of(std::string_view key,
                                         const std::unordered_set<std::string_view>& layers) {
  // The prefixes of `key` that end in '.', longest first; then the top level.
  for (std::size_t dot = key.rfind('.'); dot != std::string_view::npos;
       dot = dot == 0 ? std::string_view::npos : key.rfind('.', dot - 1)) {
    if (const auto found = layers.find(key.substr(0, dot + 1)); found != layers.end()) {
      return *found;
    }
  }
  if (const auto top = layers.find(""); top != layers.end()) return *top;
  return std::nullopt;
}

std::string layer_prefix(std::string_view prefix) {
  std::string p(prefix);
  if (!p.empty() && !p.ends_with('.')) p += '.';
  return p;
}

}  // namespace attn_trace

namespace attn_trace::loader {
namespace {

// A layer's prefix as messages show it: quoted, "" for the top level, safe for a terminal.
std::string quoted_layer(std::string_view prefix) {
  return prefix.empty() ? "\"\" (the top level)" : fmt::format("\"{}\"", excerpt(prefix));
}

// The layers' prefixes as a message lists them: at most a dozen.
std::string list_layers(const std::vector<std::string>& layers) {
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < layers.size() && i < 12; ++i) {
    shown.push_back(quoted_layer(layers[i]));
  }
  if (layers.size() > shown.size()) shown.push_back(fmt::format("and {} more", layers.size() - 12));
  return fmt::format("{}", fmt::join(shown, ", "));
}

// The --weights-prefix that picks `prefix`, as a user types it.
std::string prefix_flag(std::string_view prefix) {
  return prefix.empty() ? "--weights-prefix \"\"" : "--weights-prefix " + excerpt(prefix);
}

// What to do about a state_dict with no attention layer, whose keys are `keys`.
std::string no_layer_hint(const json& document, const std::vector<std::string>& keys) {
  if (document.contains("input") || document.contains("weights")) {
    return "this looks like an input file: give it as FILE (or --input), and only a state_dict "
           "as --weights";
  }
  // A near miss of a weight's name, in the last part of a key ("attn.in_proj_weigth").
  for (const std::string& key : keys) {
    const std::size_t dot = key.rfind('.', key.size() > 7 ? key.size() - 8 : 0);
    const std::string last = dot == std::string::npos ? key : key.substr(dot + 1);
    if (const auto near = nearest(last, weight_names())) {
      return fmt::format("did you mean \"{}\" for \"{}\"?", *near, excerpt(key));
    }
  }
  return fmt::format(
      "a layer's Q/K/V weights go by one of these names, under any prefix: in_proj_weight, "
      "q_proj_weight, W_q, linear_q.weight, qkv.weight, c_attn.weight, q_proj.weight, "
      "query.weight, self.query.weight; {}",
      state_dict_hint);
}

// Hugging Face's BERT and ViT keep Q, K and V in a module of their own inside the attention layer
// "….attention.": "self." (BERT, RoBERTa) or "attention." (ViT), beside "output.dense", the
// output projection. Such an inner prefix is no layer of the listing, but it may be picked.
struct InnerLayer {
  std::string outer;       // the attention layer it is in
  std::string_view model;  // "BERT", "ViT"
};

std::optional<InnerLayer> inner_layer(const json& document, std::string_view prefix,
                                      const std::vector<std::string>& layers) {
  constexpr std::pair<std::string_view, std::string_view> inner[] = {{"self.", "BERT"},
                                                                     {"attention.", "ViT"}};
  for (const auto& [suffix, model] : inner) {
    if (!prefix.ends_with(suffix)) continue;
    std::string outer(prefix.substr(0, prefix.size() - suffix.size()));
    if (std::find(layers.begin(), layers.end(), outer) == layers.end()) continue;
    if (document.contains(std::string(prefix) + "query.weight")) return InnerLayer{outer, model};
  }
  return std::nullopt;
}

// The prefix of the layer to read: the one --weights-prefix names, or the only one of `layers`.
std::string choose_layer(const json& document, const WeightsFile& weights,
                         const std::vector<std::string>& layers) {
  if (weights.prefix) {
    std::string prefix = layer_prefix(*weights.prefix);
    if (std::find(layers.begin(), layers.end(), prefix) == layers.end() &&
        !inner_layer(document, prefix, layers)) {
      const std::vector<std::string_view> names(layers.begin(), layers.end());
      auto near = nearest(prefix, names);
      // A whole block of the model ("encoder.layer.3."): the attention inside it.
      const auto inside = std::find_if(names.begin(), names.end(), [&](std::string_view layer) {
        return layer.starts_with(prefix);
      });
      if (!near && inside != names.end()) near = *inside;
      fail_value(weights.file, fmt::format("--weights-prefix {}", excerpt(*weights.prefix)),
                 fmt::format("no attention layer has that prefix; the file's {}: {}",
                             noun(layers.size(), "layer is", "layers are"), list_layers(layers)),
                 near ? fmt::format("did you mean {}?", prefix_flag(*near)) : "");
    }
    return prefix;
  }
  if (layers.size() > 1) {
    fail_file(weights.file,
              fmt::format("holds {} attention layers: {}; pick one with --weights-prefix",
                          layers.size(), list_layers(layers)),
              fmt::format("for example {}", prefix_flag(layers.front())));
  }
  return layers.front();
}

// Keys of a layer that are not attention's weights, skipped with a note: GPT-2's causal-mask
// buffers, which older versions of transformers (and nanoGPT) save with the weights, and the
// LayerNorm of BERT's attention output, applied after the residual, outside attention.
bool skipped_key(const json& document, const std::string& prefix, const std::string& key) {
  if (key == "bias" || key == "masked_bias") return document.contains(prefix + "c_attn.weight");
  if (key == "output.LayerNorm.weight" || key == "output.LayerNorm.bias") {
    return document.contains(prefix + "self.query.weight");
  }
  return false;
}

// The notes about the skipped keys, which are GPT-2's buffers or BERT's LayerNorm.
void note_skipped(const std::vector<std::string>& skipped, std::vector<std::string>& notes) {
  if (skipped.empty()) return;
  if (skipped.front().starts_with("output.")) {
    notes.push_back(fmt::format(
        "{} skipped: BERT's LayerNorm after output.dense and the residual, outside attention",
        fmt::join(skipped, " and ")));
    return;
  }
  notes.push_back(
      fmt::format("{} skipped: GPT-2's causal-mask {}, not weights; GPT-2 is causal, so give "
                  "\"mask\": \"causal\"",
                  fmt::join(skipped, " and "), noun(skipped.size(), "buffer", "buffers")));
}

}  // namespace

SelectedLayer select_layer(json& document, const WeightsFile& weights) {
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
    fail_file(file,
              fmt::format("found no attention layer's Q/K/V weights among its {}",
                          plural(keys.size(), "key", "keys")),
              no_layer_hint(document, keys));
  }
  SelectedLayer selected{json::object(), choose_layer(document, weights, layers), {}};
  const std::string& prefix = selected.prefix;
  const std::optional<InnerLayer> inner = inner_layer(document, prefix, layers);

  // The layer's keys: those whose nearest layer is this one (a layer at the top level must not
  // take in the keys of the model's other layers).
  std::unordered_set<std::string_view> layer_set(layers.begin(), layers.end());
  layer_set.insert(prefix);
  std::vector<std::string> skipped;
  for (auto& item : document.items()) {
    const auto owner = layer_of(item.key(), layer_set);
    if (!owner || *owner != prefix) continue;
    std::string key = item.key().substr(prefix.size());
    if (skipped_key(document, prefix, key)) {
      skipped.push_back(std::move(key));
      continue;
    }
    selected.weights.emplace(std::move(key), std::move(item.value()));
  }
  // The layer first: a long file name must not push it onto the note's next line.
  selected.notes.push_back(
      fmt::format("weights: {} of {} ({} of its {})",
                  prefix.empty() ? "the top level" : "layer " + quoted_layer(prefix), file,
                  selected.weights.size(), plural(keys.size(), "key", "keys")));
  if (inner) {
    selected.notes.push_back(fmt::format(
        "{} holds {}'s Q, K and V only: its output projection, output.dense, is in {}; "
        "{} traces it too",
        quoted_layer(prefix), inner->model, quoted_layer(inner->outer), prefix_flag(inner->outer)));
  }
  note_skipped(skipped, selected.notes);
  return selected;
}

}  // namespace attn_trace::loader
