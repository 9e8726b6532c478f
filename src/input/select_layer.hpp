// Choosing one attention layer of a whole model's state_dict (run --weights, --weights-prefix).
// Private to input: load_spec alone calls it. The names a layer's weights go by, and how the
// layers of a state_dict are found, are in attn_trace/input/state_dict.hpp.
#pragma once

#include <string>
#include <vector>

#include "attn_trace/input/load.hpp"
#include "json_document.hpp"

namespace attn_trace::loader {

struct SelectedLayer {
  json weights;                    // the layer's weights, their keys without its prefix
  std::string prefix;              // the layer's prefix: "" (the top level) or ending in '.'
  std::vector<std::string> notes;  // what the reader should know about the choice
};

// The layer of `document` (the state_dict of `weights.file`) that weights.prefix names, or the
// only one there is; its weights are moved out of `document`. Throws Error when the document is
// not an object, holds no attention layer, none by that prefix, or several and no prefix is given.
// GPT-2's causal-mask buffers (bias, masked_bias) are skipped, with a note.
[[nodiscard]] SelectedLayer select_layer(json& document, const WeightsFile& weights);

}  // namespace attn_trace::loader
