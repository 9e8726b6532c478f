// safetensors files (run --weights model.safetensors), the format Hugging Face distributes
// checkpoints in: an 8-byte little-endian header length N, N bytes of JSON header
//   {"NAME": {"dtype": "F32", "shape": [768, 768], "data_offsets": [BEGIN, END]}, …,
//    "__metadata__": {"format": "pt"}}
// (offsets into the data, which starts right after the header), then the tensors' raw
// little-endian bytes, row-major. The header is checked as the format's reference implementation
// checks it (huggingface/safetensors, safetensors/src/tensor.rs): at most 100 MB, every tensor's
// bytes exactly dtype size × elements, the tensors back to back from the data's first byte to the
// file's last. Only the tensors of the layer a trace uses are read; F64, F32, F16 and BF16 are
// converted exactly to double. Private to input: load_spec alone reads them, through the same
// select_layer as a JSON state_dict, so a layer is found, chosen and listed the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/input/load.hpp"
#include "json_document.hpp"

namespace attn_trace::loader {

// The largest header the format allows (the reference implementation's MAX_HEADER_SIZE).
inline constexpr std::uint64_t max_safetensors_header = 100'000'000;

// Whether FILE is to be read as a safetensors file: it is named *.safetensors, or it begins as
// one does (a header length that fits the file, then '{'), which no JSON text does. Standard input
// ("-") and a file that cannot be opened are not (the JSON reader reports them).
[[nodiscard]] bool is_safetensors_file(const std::string& path);

// One tensor of the header.
struct SafetensorsTensor {
  std::string name = {};                // its key: "encoder.layer.3.attention.self.query.weight"
  std::string dtype = {};               // as the header writes it: "F32"
  std::size_t element_bytes = 0;        // the size of one element of that dtype
  std::vector<std::size_t> shape = {};  // () for a scalar; an axis may be 0
  std::size_t begin = 0;                // its bytes within the data: [begin, end)
  std::size_t end = 0;
};

// A safetensors file's header, checked against its data.
struct SafetensorsIndex {
  std::vector<SafetensorsTensor> tensors = {};  // in the order of the header
  std::string_view data = {};                   // the bytes after the header; not owned
};

// The header of the safetensors file `bytes`. Throws Error naming `file` (and the tensor, as its
// key: "FILE: NAME.shape: …") when the file is shorter than 8 bytes, the header is longer than
// the file or than 100 MB, is not JSON (FILE: header:LINE:COL), is not an object of tensors, names
// a dtype safetensors does not define, or when the tensors' bytes do not match their dtype and
// shape, overlap, leave a gap, or do not end exactly where the file does (a cut-off file).
[[nodiscard]] SafetensorsIndex read_safetensors_index(std::string_view bytes,
                                                      const std::string& file);

// The values of `tensor`, row-major, each converted exactly to double. Throws Error naming `file`
// and the tensor when its dtype is not F64, F32, F16 or BF16.
[[nodiscard]] std::vector<double> tensor_values(const SafetensorsIndex& index,
                                                const SafetensorsTensor& tensor,
                                                const std::string& file);

// A state_dict document for select_layer: every tensor's name, in natural order ("layer.2" before
// "layer.10"), mapped to its place in index.tensors as a placeholder for its values.
[[nodiscard]] json placeholder_state_dict(const SafetensorsIndex& index);

// Replaces each placeholder of `layer` (the weights select_layer chose from a placeholder
// document) by its tensor's values, as nested arrays, so that the weights' readers check them as
// they check a JSON state_dict's. Throws Error when a dtype is not supported, or when the values
// would take more than weights.max_layer_bytes of memory. `prefix` is the layer's, for messages.
void read_layer_values(const SafetensorsIndex& index, json& layer, const WeightsFile& weights,
                       std::string_view prefix);

}  // namespace attn_trace::loader
