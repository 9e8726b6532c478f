// Text → JSON document, or a message that points at what is wrong in the text: its line and column
// with a caret under them, and a hint for the mistakes people make (curly quotes pasted from a
// word processor, a comma after the last element, nan where Python writes NaN, a file saved as
// UTF-16). JSON, strictly, with one extension: the numbers NaN, Infinity and -Infinity, which
// Python's json.dump writes for float('nan') and ±float('inf'). Valid text goes through the fast
// parser (fast_json.hpp); nlohmann's parser explains the rest.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace attn_trace::loader {

// The document every part of the loader reads. Ordered, so that problems are reported in the
// order they stand in the file.
using json = nlohmann::ordered_json;

// What a text is meant to hold: an input file, a --weights file (a state_dict), which may have
// more keys in one object and whose messages speak of weights, or a learner's named arrays for
// check (input/given.hpp), whose messages speak of those.
enum class DocumentKind { input, state_dict, arrays };

// The document `text` holds. Throws Error, naming `file`, when the text is empty, is not UTF-8
// text, is not JSON (NaN, Infinity and -Infinity aside), holds a number beyond double range, nests
// deeper than any input (detail::max_input_depth), has an object with more keys than any input, or
// a key twice in one object.
[[nodiscard]] json parse_document(std::string_view text, std::string_view file, DocumentKind kind);

// Frees the numbers of `document` from the leaves up, which for millions of them is much faster
// than its destructor alone; what is left is cheap to destroy.
void dismantle(json& document);

}  // namespace attn_trace::loader
