// NumPy's files as input: an .npy file (np.save) is the input matrix X; an .npz archive (np.savez,
// np.savez_compressed) holds arrays under the input format's key names ("input", "attn_mask",
// "in_proj_weight", …). Both become the JSON document an input file with those keys would be
// (arrays.hpp), which load.cpp reads like any other, so every check and message of the input
// format applies unchanged. An .npz of a learner's own tensors, for `attn-trace check`, is read
// as plain arrays by name instead (numpy_arrays). The .npy format is NumPy's
// (numpy/lib/format.py); what attn-trace takes of it is in docs/input-format.md, "NumPy files".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/check.hpp"
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

// The array of attn-trace's own NumPy export (run --format npz) that holds its trace.json: text.
inline constexpr std::string_view npz_trace_member = "trace.json";

// What an .npz holds for `attn-trace check`: its arrays of numbers, and the trace.json text when
// attn-trace's NumPy export wrote it.
struct NpzArrays {
  std::vector<GivenTensor> arrays = {};
  std::optional<std::string> trace_json = {};
};

// Every array of the .npz archive `bytes` (np.savez, np.savez_compressed, run --format npz), under
// its name, in the archive's order, whatever the names are: `attn-trace check`'s reading
// (input/given.hpp). Arrays are of the dtypes numpy_document reads, of any number of axes, each
// value a double: floats exactly (±inf and nan kept), integers as near as a double holds them,
// booleans as 1 and 0; the array named "trace.json" is read as text, a 0-d '<U…' array, and must
// be one. An archive may unpack to at most `max_unpacked` bytes, as for numpy_document. Throws
// Error naming `file` and the array by its name for a bare .npy (whose array has no name), a
// damaged, truncated or unsupported array, a member that is not an .npy, or a name given twice.
// An archive with no array gives none.
[[nodiscard]] NpzArrays numpy_arrays(std::string_view bytes, const std::string& file,
                                     std::uint64_t max_unpacked);

}  // namespace attn_trace::loader
