#include "attn_trace/input/state_dict.hpp"

#include <algorithm>
#include <array>

namespace attn_trace {
namespace {

// clang-format off
constexpr std::array<std::string_view, 37> names = {
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
    // BERT's self-attention (Hugging Face): three nn.Linear modules.
    "query.weight", "query.bias", "key.weight", "key.bias", "value.weight", "value.bias",
    // timm's ViT attention: its output nn.Linear.
    "proj.weight", "proj.bias"};

constexpr std::array<std::string_view, 15> qkv_names = {
    "in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
    "W_q", "W_k", "W_v",
    "linear_q.weight", "linear_k.weight", "linear_v.weight",
    "qkv.weight", "c_attn.weight",
    "query.weight", "key.weight", "value.weight"};
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
    for (std::string_view name : qkv_names) {
      if (!key.ends_with(name)) continue;
      const std::size_t prefix_length = key.size() - name.size();
      if (prefix_length > 0 && key[prefix_length - 1] != '.') continue;
      if (seen.insert(std::string_view(key).substr(0, prefix_length)).second) {
        layers.push_back(key.substr(0, prefix_length));
      }
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
