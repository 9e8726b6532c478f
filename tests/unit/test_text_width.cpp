// Terminal widths of token labels, including the Chinese and Korean the tutorials are written in.
#include <catch2/catch.hpp>

#include "attn_trace/core/text_width.hpp"

using namespace attn_trace;

TEST_CASE("display_width counts terminal columns", "[text]") {
  CHECK(display_width("") == 0);
  CHECK(display_width("good") == 4);
  CHECK(display_width("Kᵀ") == 2);
  CHECK(display_width("我很好") == 6);
  CHECK(display_width("안녕") == 4);
  CHECK(display_width("é") == 1);
}

TEST_CASE("truncate_to_width cuts long labels with an ellipsis", "[text]") {
  CHECK(truncate_to_width("good", 12) == "good");
  CHECK(truncate_to_width("representation", 8) == "represe…");
  CHECK(truncate_to_width("我很好我很好", 6) == "我很…");
  CHECK(display_width(truncate_to_width("我很好我很好", 6)) <= 6);
}

TEST_CASE("printable never lets an invalid UTF-8 byte through", "[text]") {
  // A lead byte whose continuation bytes are missing or wrong is one '?', and what follows stays.
  CHECK(printable("caf\xE9 cr\xE8me") == "caf? cr?me");
  CHECK(printable("\xE2'x") == "?'x");
  CHECK(printable("\xE2\x80") == "??");
  CHECK(printable("\xE2\x80\x9C") == "“");
}
