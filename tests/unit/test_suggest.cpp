// "Did you mean …?" for flags: the nearest flag of a command, written as the user should type it.
#include <array>
#include <string_view>

#include <catch2/catch.hpp>

#include "attn_trace/core/suggest.hpp"

using attn_trace::nearest_flag;

namespace {
// A few of run's flags, as the CLI passes them: long names with their dashes.
constexpr std::array<std::string_view, 7> run_flags = {
    "--heads", "--help", "--precision", "--color", "--stages", "--until", "--output"};
}  // namespace

TEST_CASE("nearest_flag: a mistyped long flag gets the nearest one", "[suggest]") {
  CHECK(nearest_flag("--head", run_flags) == "--heads");  // not --help: two edits away
  CHECK(nearest_flag("--precison", run_flags) == "--precision");
  CHECK(nearest_flag("--colour", run_flags) == "--color");
  CHECK(nearest_flag("--STAGES", run_flags) == "--stages");  // case is no edit
}

TEST_CASE("nearest_flag: the forms a flag is typed in", "[suggest]") {
  SECTION("--flag=value keeps its value") {
    CHECK(nearest_flag("--head=4", run_flags) == "--heads=4");
    CHECK(nearest_flag("--colour=always", run_flags) == "--color=always");
    CHECK(nearest_flag("--until=a=b", run_flags) == "--until=a=b");  // only the first = splits
  }
  SECTION("one dash, or three, is the long flag with two") {
    CHECK(nearest_flag("-heads", run_flags) == "--heads");
    CHECK(nearest_flag("-precison", run_flags) == "--precision");
    CHECK(nearest_flag("---output", run_flags) == "--output");
  }
}

TEST_CASE("nearest_flag: nothing close, no suggestion", "[suggest]") {
  CHECK_FALSE(nearest_flag("--frobnicate", run_flags));
  CHECK_FALSE(nearest_flag("--stage-list", run_flags));
  CHECK_FALSE(nearest_flag("--x", run_flags));
  CHECK_FALSE(nearest_flag("--heads", std::span<const std::string_view>{}));
}
