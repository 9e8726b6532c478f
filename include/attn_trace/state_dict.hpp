// The names one attention layer's weights go by, and where the attention layers stand in a whole
// model's state_dict (run --weights, --weights-prefix). docs/input-format.md lists the names.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace attn_trace {

// Every key the weights of one layer may have: the input format's own (W_q, …),
// nn.MultiheadAttention's (in_proj_weight, …) and the tutorials' modules (linear_q.weight,
// qkv.weight, GPT-2's c_attn.weight, …), in the order the docs list them.
[[nodiscard]] std::span<const std::string_view> weight_names();

// Whether `name` holds Q, K or V weights (in_proj_weight, W_k, qkv.weight, …): a layer of a
// state_dict is where one of them stands.
[[nodiscard]] bool is_qkv_weight_name(std::string_view name);

// The attention layers of a state_dict: every prefix P ("" or ending in '.') such that P followed
// by a Q/K/V weight name is one of `keys`, in the order the layers first appear.
[[nodiscard]] std::vector<std::string> attention_layers(std::span<const std::string> keys);

// The layer prefix a user means by `prefix`: "self_attn" and "self_attn." both name the layer whose
// keys start with "self_attn.".
[[nodiscard]] std::string layer_prefix(std::string_view prefix);

}  // namespace attn_trace
