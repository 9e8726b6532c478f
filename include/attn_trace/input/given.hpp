// The learner's own tensors, for `attn-trace check`: a file that maps names to arrays, read into
// GivenTensors (core/check.hpp). Which trace tensor a name means is teach/check.hpp's to decide;
// this only reads the arrays and refuses what is not one.
//
//   JSON    an object {"name": nested lists, …}; numbers, the strings "inf", "-inf", "nan", and
//           Python's NaN, Infinity, -Infinity (json.dump's spelling)
//   .npz    np.savez / np.savez_compressed: one array per name (float, int or bool)
//   trace   an attn-trace JSON trace (run --format json): every tensor with numbers, named
//           "STAGE.TENSOR"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "attn_trace/core/check.hpp"

namespace attn_trace {

// The arrays of the file at `path` ("-": standard input), told apart by its first bytes, whatever
// its name. Throws Error naming the file and the array's path in it ("attn_weights[2][0]") for a
// file that cannot be read, is larger than `memory_budget` bytes, is not one of the three forms,
// holds no array, or holds something that is not a rectangular array of numbers.
[[nodiscard]] GivenTensors load_given_tensors(const std::string& path, std::uint64_t memory_budget);

// The same, from the bytes of such a file, which messages call `file`; an .npz may unpack to at
// most `max_unpacked` bytes. (The fuzzer's way in: tests/fuzz/fuzz_load_trace.cpp.)
[[nodiscard]] GivenTensors read_given_tensors(std::string_view bytes, const std::string& file,
                                              std::uint64_t max_unpacked);

}  // namespace attn_trace
