// A fast parser for valid JSON, used by the loader before nlohmann's own parser. A model's weights
// are millions of numbers; nlohmann's parser spends most of the load time on them, while this one
// reads them with std::from_chars. It produces the same document (an nlohmann::ordered_json) but
// gives up, returning nothing, on anything that is not plain valid JSON (with Python's NaN,
// Infinity and -Infinity, which it reads as those doubles) — the loader then runs
// nlohmann's parser, whose precise diagnostics (line, column, what was expected) it reports.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace attn_trace::detail {

// No valid input nests deeper than 5 (a (1, 1, E) bias_k inside "weights"); text nested deeper
// than this is refused before any parser recurses further into it, so that no document the loader
// reads (and frees: json_document.cpp's dismantle) is deeper.
inline constexpr int max_input_depth = 16;
// No valid input object has more than 17 keys (the top level; the weights of one layer); text with
// an object of more keys than this is refused where the first key too many starts.
inline constexpr std::size_t max_object_keys = 256;

struct FastParse {
  nlohmann::ordered_json document;
  // The first key that appears twice in one object, and the offset of its second copy.
  std::optional<std::string> duplicate_key;
  std::size_t duplicate_offset = 0;
  // Set when the text nests deeper than max_input_depth: where it does (the document is empty).
  std::optional<std::size_t> too_deep_offset;
  // Set when an object has more keys than allowed: where the first key too many starts.
  std::optional<std::size_t> too_many_keys_offset;
};

// A whole model's state_dict (run --weights) has hundreds of keys, its layers' weights among them;
// more than this is beyond any model a learner traces one layer of.
inline constexpr std::size_t max_state_dict_keys = 8192;

// The document of `text`, or nothing when `text` is not valid JSON (or holds a number beyond
// double range). NaN, Infinity and -Infinity, standing where a number may, are those doubles. Text
// nested deeper than max_input_depth gives only too_deep_offset; an object with more than
// `max_keys` keys only too_many_keys_offset.
[[nodiscard]] std::optional<FastParse> parse_fast(std::string_view text,
                                                  std::size_t max_keys = max_object_keys);

}  // namespace attn_trace::detail
