// The typed readers every part of the loader uses: a number, a vector, a matrix, a nested array of
// any rank, an optional string, and the check that an object holds only known keys. Each takes the
// file it reads and the JSON path of the value, for messages, and throws Error naming both
// (fail_value: "FILE: PATH: expected <what>, found <what>") when the value is not what it should
// be.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attn_trace/core/matrix.hpp"
#include "json_document.hpp"

namespace attn_trace::loader {

// What the user actually wrote, for "found …": "null", "true", "a string \"x\"", "a number 3",
// "an object with 2 keys", "an empty array", "an array of 2 elements".
[[nodiscard]] std::string describe(const json& value);

// A number as an input file spells it: 0.5, 3, or NaN, Infinity and -Infinity as Python's
// json.dump writes them (nlohmann's dump would write null). REQUIRES: `number` is a number.
[[nodiscard]] std::string number_text(const json& number);

// "path[index]": the path of one element of an array.
[[nodiscard]] std::string element_path(std::string_view path, std::size_t index);

// `value`, which must be a number: finite, or NaN, Infinity or -Infinity, which the file wrote as
// Python does (a number beyond double range written in digits is refused by the parser). A reader
// for which these make no sense (a scale, a count) checks for them itself. `path` names it in
// messages.
[[nodiscard]] double read_number(std::string_view file, const json& value, std::string_view path);

// `value`, element `index` of the array at `path`, which must be a number. The element's
// path is only spelled out for a message: loading millions of numbers must not format millions of
// strings.
[[nodiscard]] double read_number(std::string_view file, const json& value, std::string_view path,
                                 std::size_t index);

// A non-empty list of numbers.
[[nodiscard]] Vector read_vector(std::string_view file, const json& value, std::string_view path);

// A non-empty list of rows, each a list of numbers, all as long as the first: (rows, cols).
[[nodiscard]] Matrix read_matrix(std::string_view file, const json& value, std::string_view path);

// A rectangular nested array of scalars (any rank ≥ 1): its shape and its leaves, row-major.
struct Nested {
  std::vector<std::size_t> shape;
  std::vector<const json*> leaves;  // into the document read; valid while it lives
};

// `value` as a Nested. Fails unless every level is a non-empty list, the lists of one level are
// equally long and every leaf is a scalar as deep as the first; the leaves' types are the
// caller's to check.
[[nodiscard]] Nested read_nested(std::string_view file, const json& value, std::string_view path);

// Leaf `flat` (row-major) of `nested`, read at `path`, which must be a number. As for an
// array's element, its path is only spelled out for a message.
[[nodiscard]] double read_leaf_number(std::string_view file, const Nested& nested,
                                      std::string_view path, std::size_t flat);

// "mask[1][2]": the path of leaf `flat` (row-major) of `nested`, read at `path`.
[[nodiscard]] std::string leaf_path(std::string_view path, const Nested& nested, std::size_t flat);

// "[0][0]" for depth 2: the path of the first element `depth` levels down.
[[nodiscard]] std::string repeat_index(std::size_t depth);

// `key` of `object` (which stands at `prefix`, or at the top level when that is empty): a string,
// or "" when it is absent.
[[nodiscard]] std::string optional_string(std::string_view file, const json& object,
                                          const char* key, std::string_view prefix = "");

// Checks that every key of `object` (at `prefix`; "" is the top level) is one of `known`, and
// otherwise fails with the nearest known key as a suggestion, or with the module prefix to drop
// when the key is a known one under a whole model's prefix ("layers.0.self_attn.in_proj_weight").
void check_keys(std::string_view file, const json& object, std::string_view prefix,
                std::span<const std::string_view> known);

}  // namespace attn_trace::loader
