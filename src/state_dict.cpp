#include "attn_trace/state_dict.hpp"

#include <algorithm>
#include <array>

namespace attn_trace {
namespace {

constexpr std::array<std::string_view, 29> names = {
    // nn.MultiheadAttention's own parameters.
    "in_proj_weight", "in_proj_bias", "q_proj_weight", "k_proj_weight", "v_proj_weight",
    "out_proj.weight", "out_proj.bias", "bias_k", "bias_v",
    // The input format's plain names.
    "W_q", "W_k", "W_v", "b_q", "b_k", "b_v", "W_o", "b_o",
    // Seed 001's MySelfAttention: three nn.Linear modules.
    "linear_q.weight", "linear_q.bias", "linear_k.weight", "linear_k.bias", "linear_v.weight",
    "linear_v.bias",
    // Seed 004's SelfAttention: one packed nn.Linear (and out_proj, as above).
    "qkv.weight", "qkv.bias",
    // GPT-2's attention (Hugging Face): Conv1D modules, stored (in, out).
    "c_attn.weight", "c_attn.bias", "c_proj.weight", "c_proj.bias"};

constexpr std::array<std::string_view, 12> qkv_names = {"in_proj_weight",
                                                        "q_proj_weight",
                                                        "k_proj_weight",
                                                        "v_proj_weight",
                                                        "W_q",
                                                        "W_k",
                                                        "W_v",
                                                        "linear_q.weight",
                                                        "linear_k.weight",
                                                        "linear_v.weight",
                                                        "qkv.weight",
                                                        "c_attn.weight"};

}  // namespace

std::span<const std::string_view> weight_names() {
  return names;
}

bool is_qkv_weight_name(std::string_view name) {
  return std::find(qkv_names.begin(), qkv_names.end(), name) != qkv_names.end();
}

std::vector<std::string> attention_layers(std::span<const std::string> keys) {
  std::vector<std::string> layers;
  for (const std::string& key : keys) {
    for (std::string_view name : qkv_names) {
      if (!key.ends_with(name)) continue;
      const std::size_t prefix_length = key.size() - name.size();
      if (prefix_length > 0 && key[prefix_length - 1] != '.') continue;
      std::string prefix = key.substr(0, prefix_length);
      if (std::find(layers.begin(), layers.end(), prefix) == layers.end()) {
        layers.push_back(std::move(prefix));
      }
    }
  }
  return layers;
}

std::string layer_prefix(std::string_view prefix) {
  std::string p(prefix);
  if (!p.empty() && !p.ends_with('.')) p += '.';
  return p;
}

}  // namespace attn_trace
