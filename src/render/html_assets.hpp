// The HTML page's stylesheet and script (html/page.css, html/page.js), compiled into the binary by
// html/embed.cmake at build time, so that the page needs no other file and the binary none either.
#pragma once

#include <string_view>

namespace attn_trace::html_assets {

// The contents of html/page.css.
[[nodiscard]] std::string_view page_css();

// The contents of html/page.js, byte for byte: the page's one script.
[[nodiscard]] std::string_view page_js();

// The SHA-256 of page_js() in base64: the page's Content-Security-Policy lets only the script
// with this hash run ("'sha256-…'"), so that nothing else in the page can.
[[nodiscard]] std::string_view page_js_sha256();

}  // namespace attn_trace::html_assets
