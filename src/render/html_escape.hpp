// What the HTML page (html.cpp) writes of text that strangers wrote — token labels, names, notes,
// descriptions, sources — in the two places it goes: HTML text and attribute values, and JSON data
// inside a <script type="application/json"> element. Both are written so that no text can end the
// element or attribute it is in, so nothing from an input can become markup or run.
#pragma once

#include <string>
#include <string_view>

namespace attn_trace::html {

// `text` as HTML text or as a quoted attribute's value: & < > " ' as character references, and
// every byte that is not well-formed UTF-8 as U+FFFD, so that the browser reads what we mean.
[[nodiscard]] std::string escape(std::string_view text);

// `text` as a JSON string literal (with its quotes) that is safe inside a <script> element: besides
// JSON's own escapes (" \ and control characters), < > & become \u003c \u003e \u0026, so that no
// "</script>" or "<!--" can appear, and U+2028/U+2029 become \u2028/\u2029, which older JavaScript
// took for line ends; bytes that are not well-formed UTF-8 become \ufffd.
[[nodiscard]] std::string json_string(std::string_view text);

}  // namespace attn_trace::html
