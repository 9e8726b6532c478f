// input/source.hpp: the input a subcommand's flags name, loaded under the memory budget.
#include <string>

#include <catch2/catch.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/input/source.hpp"

using namespace attn_trace;
using Catch::Contains;

namespace {

const std::string inputs = std::string(ATTN_TRACE_TESTS_DIR) + "/cli/inputs/";
const std::string state_dicts = std::string(ATTN_TRACE_TESTS_DIR) + "/state_dicts/";

std::string hint_of(const InputSource& source) {
  try {
    (void)load_input(source);
  } catch (const Error& e) {
    return e.hint();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("no file is the default example; a name is a bundled example", "[source]") {
  const LoadedInput fallback = load_input(InputSource{});
  CHECK(fallback.name == "example i-am-good");
  CHECK(fallback.spec.name == "I am good");
  const LoadedInput named = load_input(InputSource{.file = "multihead"});
  CHECK(named.name == "example multihead");
  CHECK(named.spec.num_heads == 2);
  CHECK(input_name(InputSource{.file = "-"}) == "<stdin>");
}

TEST_CASE("the memory budget is checked once, in bytes, before reading and before tracing",
          "[source][memory]") {
  InputSource source{.file = inputs + "forty_tokens.json"};
  CHECK(load_input(source).spec.q_len() == 40);
  // The trace (1600 scores, four times over) is larger than 4 MiB with the program's own share.
  source.memory_budget = std::uint64_t{4} << 20;
  REQUIRE_THROWS_WITH(load_input(source), Contains("forty_tokens.json: this trace needs about"));
  CHECK_THAT(hint_of(source), Contains("raise the budget with --memory-budget"));
  // 10 KiB lets the loader read 640 bytes of JSON: the file is refused before it is read.
  source.memory_budget = std::uint64_t{10} << 10;
  REQUIRE_THROWS_WITH(load_input(source),
                      Contains("833 bytes of JSON, more than the 640 bytes that the memory budget "
                               "of 10 KiB allows"));
}

TEST_CASE(
    "an example with weights of its own takes no --weights; a typo of an example's name "
    "gets a hint",
    "[source][errors]") {
  const InputSource with_weights{.file = "i-am-good",
                                 .weights = state_dicts + "seed001-linear-names/weights.json"};
  REQUIRE_THROWS_WITH(load_input(with_weights),
                      Contains("the bundled example i-am-good has weights of its own"));
  REQUIRE_THROWS_WITH(load_input(InputSource{.file = "i-am-god"}),
                      "i-am-god: no such file, and no bundled example of that name");
  CHECK(hint_of(InputSource{.file = "i-am-god"}) ==
        "did you mean the example 'i-am-good'? `attn-trace examples` lists them");
}
