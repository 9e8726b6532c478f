// Loading: JSON text → Spec, with every check done here, once. Each failure throws Error with a
// message of the form
//   FILE: JSON.PATH: expected <what>, found <what>
// (or FILE:LINE:COL: <what> for text that is not JSON at all, and FILE: <what> for a file that
// cannot be read or is not text). Nothing after loading re-checks. The input format is documented
// in docs/input-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/spec.hpp"

namespace attn_trace {

class MappedFile;  // a file mapped into memory (src/input/mapped_file.hpp)

// How a --weights file is written.
enum class WeightsFormat {
  json,         // a PyTorch state_dict dumped as JSON
  safetensors,  // Hugging Face's binary format (docs/input-format.md#safetensors)
};

// The weights of one attention layer, from a file of their own (run --weights): a PyTorch
// state_dict, of that layer or of a whole model.
struct WeightsFile {
  std::string text;                   // the file's contents, unless `mapped` holds them
  std::string file;                   // its name, for messages
  std::optional<std::string> prefix;  // --weights-prefix: the layer to use, e.g. "self_attn."
  WeightsFormat format = WeightsFormat::json;
  // A safetensors file, mapped rather than read, so that only the chosen layer's tensors are read
  // from disk; none: the bytes are `text`.
  std::shared_ptr<const MappedFile> mapped = {};
  // The most memory the chosen layer's values may take once read (a safetensors file's layer; a
  // JSON file is limited before it is read, by its size).
  std::uint64_t max_layer_bytes = UINT64_MAX;
};

// What the command line adds to an input file.
struct LoadOptions {
  std::optional<WeightsFile> weights;              // instead of the input's "weights"
  std::optional<Index> num_heads;                  // --heads: instead of the input's "num_heads"
  std::optional<std::string> rope;                 // --rope: instead of the input's "rope"
  std::optional<std::vector<std::string>> tokens;  // --tokens: instead of the input's "tokens"
  // The most an .npz may unpack to, in bytes (source.cpp: the memory budget's share for input).
  std::uint64_t max_unpacked = UINT64_MAX;
};

// Parses and validates one input document: JSON text, or the bytes of a NumPy .npy or .npz file
// (told apart by their first bytes, so standard input may be either). `file` names it in
// messages ("ex.json", "<stdin>", "example i-am-good").
[[nodiscard]] Spec load_spec(std::string_view text, const std::string& file,
                             const LoadOptions& options = {});

// All of FILE (or standard input for "-"). Throws Error when it cannot be read, or when it is
// larger than `max_bytes` (checked before reading a file, while reading a pipe).
[[nodiscard]] std::string read_input_file(const std::string& path,
                                          std::uint64_t max_bytes = UINT64_MAX);

// FILE mapped into memory: a safetensors file, read in place. Throws Error as read_input_file does
// when it cannot be opened.
[[nodiscard]] std::shared_ptr<const MappedFile> map_input_file(const std::string& path);

// Reads FILE (or standard input for "-") and loads it.
[[nodiscard]] Spec load_spec_file(const std::string& path, std::uint64_t max_bytes = UINT64_MAX,
                                  const LoadOptions& options = {});

}  // namespace attn_trace
