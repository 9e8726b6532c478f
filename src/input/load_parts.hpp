// The parts of loading one input document, in the order load_spec (load.cpp) calls them. Each is a
// free function that checks one concern of the document and fills its piece of the Spec; each
// reads what the parts before it filled (the weights need the input's width, the masks the head
// count). They share a Reading: the file names for messages and what the command line adds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attn_trace/core/spec.hpp"
#include "json_document.hpp"

namespace attn_trace::loader {

// Where the weights come from, and how messages name them.
struct WeightsSource {
  // One layer's weights from a --weights file, its keys without the layer's prefix; null when the
  // weights are the input's own "weights" object.
  const json* layer = nullptr;
  std::string file;  // the file that holds them
  std::string key_prefix =
      "weights.";                  // before a key in messages: "weights.W_q", "attn.c_proj.bias"
  std::string object = "weights";  // the weights as a whole: "weights", "(top level)", "attn"
};

// What every part needs besides the document.
struct Reading {
  std::string file;  // the input file, named by every message about it
  WeightsSource weights;
  std::optional<Index> heads_flag;            // --heads, which replaces the input's "num_heads"
  std::optional<std::string> rope_flag = {};  // --rope, which replaces the input's "rope"
  std::optional<std::vector<std::string>> tokens_flag = {};  // --tokens, which replaces "tokens"
};

// What the input says about rotary position embeddings ("rope", or --rope).
struct RopeChoice {
  bool none = false;             // the layer has none: "rope": "none"
  std::string where = "--rope";  // what said it, for messages: "--rope" or "rope"
  // What was said, as the user wrote it: --rope none, or "rope": "none".
  [[nodiscard]] std::string said() const {
    return where == "rope" ? "\"rope\": \"none\"" : "--rope none";
  }
};

// The hint for a batched input that looks like (L, B, E): what nn.MultiheadAttention takes by
// default, read here as (B, L, E).
inline constexpr const char* batch_first_hint =
    "if input is (L, B, E) as nn.MultiheadAttention takes it by default (batch_first=False), "
    "transpose it: x.transpose(0, 1)";

// inputs.cpp
// "input": X, (L, E) or batched (B, L, E); sets spec.inputs and spec.batched.
void read_input(const Reading& reading, const json& root, Spec& spec);
// Cross-attention's sources of K and V: "kv_input", or "key_input" and "value_input", batched
// exactly when the input is. REQUIRES read_input.
void read_key_inputs(const Reading& reading, const json& root, Spec& spec);
// "tokens" and "kv_tokens": one label per row of the queries and of the keys, one list or one per
// batch; numbers when absent; --tokens instead of "tokens". REQUIRES read_key_inputs.
void read_tokens(const Reading& reading, const json& root, Spec& spec);

// options.cpp
// "weight_layout": how the input format's own weight names are stored. Before read_weights.
void read_layout(const Reading& reading, const json& root, Spec& spec);
// "num_heads", or --heads; a --weights file (a state_dict) does not record it, so it must be given.
// REQUIRES read_weights: the count must divide the width of Q, K and V.
void read_num_heads(const Reading& reading, const json& root, Spec& spec);
// "rope", or --rope: "none" only, for now; "rotate_half" and "interleaved" are not supported yet.
// Read with the weights (weights.cpp), whose layer it describes.
[[nodiscard]] RopeChoice read_rope(const Reading& reading, const json& root);
// "scale": "head_dim", "embed_dim", "none" or a positive multiplier.
void read_scale(const Reading& reading, const json& root, Spec& spec);
// "add_zero_attn": true or false.
void read_add_zero_attn(const Reading& reading, const json& root, Spec& spec);
// "published": what a source printed for some stages' tensors, to compare with the trace.
void read_published(const Reading& reading, const json& root, Spec& spec);

// weights.cpp
// The weights, from the input's "weights" or the --weights file's layer (reading.weights): Q/K/V
// in any of their forms, the output projection, bias_k and bias_v, and "rope" (read_rope), which
// says whether a Llama-family layer may be traced. Without Q/K/V weights, checks that the key and
// value inputs are as wide as the input. REQUIRES read_key_inputs, read_layout.
void read_weights(const Reading& reading, const json& root, Spec& spec);

// mask_input.cpp
// "mask", "attn_mask" and "key_padding_mask", each in the shapes PyTorch or the tutorials use.
// REQUIRES read_num_heads: a 3-D attn_mask holds one block per head.
void read_masks(const Reading& reading, const json& root, Spec& spec);

}  // namespace attn_trace::loader
