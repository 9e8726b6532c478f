// The names one attention layer's weights go by, and where the attention layers stand in a whole
// model's state_dict (run --weights, --weights-prefix). docs/input-format.md lists the names.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace attn_trace {

// Every key the weights of one layer may have: the input format's own (W_q, …),
// nn.MultiheadAttention's (in_proj_weight, …), the tutorials' modules (linear_q.weight,
// qkv.weight) and those of models learners load (GPT-2's c_attn.weight, BERT's query.weight,
// timm's proj.weight), in the order the docs list them.
[[nodiscard]] std::span<const std::string_view> weight_names();

// Whether `name` holds Q, K or V weights (in_proj_weight, W_k, qkv.weight, …): a layer of a
// state_dict is where one of them stands.
[[nodiscard]] bool is_qkv_weight_name(std::string_view name);

// The attention layers of a state_dict: every prefix P ("" or ending in '.') such that P followed
// by a Q/K/V weight name is one of `keys`, in the order the layers first appear.
[[nodiscard]] std::vector<std::string> attention_layers(std::span<const std::string> keys);

// The layer `key` belongs to: the longest of `layers` that is a prefix of it ending at a '.', or
// the top level "" when that is a layer; none when it belongs to no layer.
[[nodiscard]] std::optional<std::string_view> layer_of(
    std::string_view key, const std::unordered_set<std::string_view>& layers);

// The layer prefix a user means by `prefix`: "self_attn" and "self_attn." both name the layer whose
// keys start with "self_attn.".
[[nodiscard]] std::string layer_prefix(std::string_view prefix);

}  // namespace attn_trace
