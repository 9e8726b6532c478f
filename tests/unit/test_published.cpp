// Published values: every bundled example reproduces what its source printed, or says why not;
// and a published block that does not fit the trace is a clear error.
#include <cmath>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/teach/compare_published.hpp"
#include "golden.hpp"

using namespace attn_trace;
using Catch::Contains;
using json = nlohmann::json;

namespace {

std::vector<PublishedCheck> checks_of(std::string_view text, const std::string& file = "ex.json") {
  const Spec spec = load_spec(text, file);
  return check_published(spec.published, trace_attention(spec), file);
}

const PublishedCheck& find(const std::vector<PublishedCheck>& checks, std::string_view stage,
                           std::string_view tensor) {
  for (const PublishedCheck& c : checks) {
    if (stage_name(c.published.stage) == stage && c.published.tensor == tensor) return c;
  }
  FAIL("no published " << stage << "." << tensor);
  throw;  // unreachable
}

// The numbers of nested lists, row-major.
std::vector<double> flatten(const json& value) {
  if (!value.is_array()) return {value.get<double>()};
  std::vector<double> out;
  for (const json& item : value) {
    const std::vector<double> inner = flatten(item);
    out.insert(out.end(), inner.begin(), inner.end());
  }
  return out;
}

json karim_doc() {
  return json::parse(std::string(find_example("karim")->json));
}

}  // namespace

TEST_CASE("every bundled example reproduces its source, or says why not", "[published]") {
  for (const EmbeddedExample& example : embedded_examples()) {
    INFO(example.name);
    for (const PublishedCheck& check : checks_of(example.json, std::string(example.name))) {
      INFO(stage_name(check.published.stage) << "." << check.published.tensor);
      if (!check.mismatches.empty()) CHECK_FALSE(check.published.note.empty());
    }
  }
}

TEST_CASE("makeesy: the video's Q and the output its code prints", "[published]") {
  const auto checks = checks_of(find_example("makeesy")->json);
  REQUIRE(checks.size() == 2);
  CHECK(find(checks, "projections", "Q").mismatches.empty());
  const PublishedCheck& output = find(checks, "summation", "context");
  CHECK(output.published.decimals == 4);
  CHECK(output.mismatches.empty());
}

TEST_CASE("Karim: K, Q, V and scores exact; the rounded softmax and its outputs explained",
          "[published]") {
  const auto checks = checks_of(find_example("karim")->json);
  for (const char* tensor : {"Q", "K", "V"}) {
    CHECK(find(checks, "projections", tensor).mismatches.empty());
  }
  CHECK(find(checks, "scores", "scores").mismatches.empty());
  // exp(2)/(exp(2) + 2·exp(4)) = 0.0634 for input 1's first weight, which the post rounds to 0.
  const PublishedCheck& weights = find(checks, "softmax", "weights");
  REQUIRE(weights.mismatches.size() == 1);
  CHECK(weights.mismatches[0].index == std::vector<std::size_t>{0, 0});
  CHECK(weights.mismatches[0].traced ==
        Approx(std::exp(2.0) / (std::exp(2.0) + 2 * std::exp(4.0))));
  // The outputs from the rounded weights differ in five places; the first row is all off.
  const PublishedCheck& context = find(checks, "summation", "context");
  CHECK(context.mismatches.size() == 5);
  CHECK(context.mismatches[1].index == std::vector<std::size_t>{0, 1});
  CHECK(context.mismatches[1].published == 7.0);
  CHECK(context.mismatches[1].traced == Approx(6.68310531));
}

TEST_CASE("a published block that does not fit is an error naming its path", "[published]") {
  json doc = karim_doc();
  SECTION("an unknown stage, with the nearest") {
    doc["published"]["sofmax"] = doc["published"]["softmax"];
    REQUIRE_THROWS_WITH(load_spec(doc.dump(), "k.json"),
                        Contains("k.json: published.sofmax: unknown stage \"sofmax\"; did you "
                                 "mean \"softmax\"?"));
  }
  SECTION("a tensor the stage does not have") {
    doc["published"]["softmax"]["weight"] = doc["published"]["softmax"]["weights"];
    REQUIRE_THROWS_WITH(checks_of(doc.dump(), "k.json"),
                        Contains("k.json: published.softmax.weight: the softmax stage has no "
                                 "tensor weight (it has weights)"));
  }
  SECTION("a stage this trace does not have") {
    doc["published"]["split_heads"] = {{"Q", {{"values", {{1}}}}}};
    REQUIRE_THROWS_WITH(checks_of(doc.dump(), "k.json"),
                        Contains("k.json: published.split_heads.Q: this trace has no split_heads "
                                 "stage"));
  }
  SECTION("another shape") {
    doc["published"]["scores"]["scores"]["values"] = json::parse("[[2, 4], [4, 16]]");
    REQUIRE_THROWS_WITH(checks_of(doc.dump(), "k.json"),
                        Contains("k.json: published.scores.scores: expected shape (3, 3) like the "
                                 "traced scores, found (2, 2)"));
  }
  SECTION("decimals out of range") {
    doc["published"]["scores"]["scores"]["decimals"] = 20;
    REQUIRE_THROWS_WITH(
        load_spec(doc.dump(), "k.json"),
        Contains("k.json: published.scores.scores.decimals: expected a whole number "
                 "from 0 to 15"));
  }
  SECTION("a value that is not a number") {
    doc["published"]["scores"]["scores"]["values"][1][2] = "12";
    REQUIRE_THROWS_WITH(load_spec(doc.dump(), "k.json"),
                        Contains("k.json: published.scores.scores.values[1][2]: expected a number, "
                                 "found a string \"12\""));
  }
  SECTION("values missing") {
    doc["published"]["scores"]["scores"] = {{"decimals", 0}};
    REQUIRE_THROWS_WITH(load_spec(doc.dump(), "k.json"),
                        Contains("k.json: published.scores.scores.values: missing"));
  }
}

TEST_CASE("examples generated from a source's code reproduce what that code computes",
          "[published][examples]") {
  // tests/examples/references.json: written by tools/make_examples.py, which runs each source's
  // own code (torch, float64) on the example's numbers: Raschka's two forms, iThome's
  // MySelfAttention, and seed 004's SelfAttention forwards (self and cross).
  std::ifstream in(ATTN_TRACE_EXAMPLES_DIR "/references.json");
  REQUIRE(in);
  const json expected = json::parse(in);
  REQUIRE(expected.size() == 5);
  for (const auto& [name, reference] : expected.items()) {
    INFO(name);
    const auto example = find_example(name);
    REQUIRE(example);
    const Trace trace = trace_attention(load_spec(example->json, name));
    const Stage* stage = golden::find_stage(trace, reference["stage"].get<std::string>());
    REQUIRE(stage);
    const Tensor* tensor = golden::find_tensor(*stage, reference["tensor"].get<std::string>());
    REQUIRE(tensor);
    const std::vector<double> want = flatten(reference["values"]);
    REQUIRE(tensor->data.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      CHECK(tensor->data[i] == Approx(want[i]).epsilon(1e-12));
    }
  }
}
