// NumPy's files as input: an .npy file (np.save) is the input matrix X; an .npz archive (np.savez,
// np.savez_compressed) holds arrays under the input format's key names ("input", "attn_mask",
// "in_proj_weight", …). Both become the JSON document an input file with those keys would be
// (arrays.hpp), which load.cpp reads like any other, so every check and message of the input
// format applies unchanged. The .npy format is NumPy's (numpy/lib/format.py); what attn-trace
// takes of it is in docs/input-format.md, "NumPy files".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "json_document.hpp"

namespace attn_trace::loader {

// Whether `bytes` are an .npy file ("\x93NUMPY") or a zip archive, as an .npz is ("PK\3\4", or
// "PK\5\6" for an empty one), whatever the file is called: standard input has no name. A
// torch.save file, also a zip archive, is not.
[[nodiscard]] bool is_numpy(std::string_view bytes);

// The input document `bytes` (an .npy or .npz file) stand for: {"input": X} for an .npy; for an
// .npz, each array under its name, the weights' names inside "weights". Arrays are float64,
// float32, float16 (each converted exactly to double), integers or booleans, little- or
// big-endian, C or Fortran order, of at most 3 axes; non-finite floats become the strings "-inf",
// "inf" and "nan" (the form a mask's −∞ takes in JSON). An .npz may unpack to at most
// `max_unpacked` bytes, checked against what its directory declares before anything is inflated
// and against what inflating gives. Throws Error naming `file` and the array by its path in the
// document ("input", "weights.in_proj_weight") for a damaged, truncated or unsupported array, an
// archive member that is not an .npy, a name the input format does not know, or no "input".
[[nodiscard]] json numpy_document(std::string_view bytes, const std::string& file,
                                  std::uint64_t max_unpacked);

}  // namespace attn_trace::loader
