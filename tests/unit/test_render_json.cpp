// The JSON export: read back by a JSON parser, every number is the very double the trace holds,
// every tensor's nested lists have the shape it claims, and the options filter what is written.
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/json.hpp"
#include "golden.hpp"

using namespace attn_trace;
using json = nlohmann::json;

namespace {

json export_json(const Trace& trace, JsonOptions options = {}) {
  std::ostringstream out;
  render_json(trace, options, out);
  return json::parse(out.str());
}

Trace trace_of(const std::string& input) {
  return trace_attention(load_spec(input, "test.json"));
}

// The numbers of nested lists `data`, row-major, checking at every level that the lengths match
// `shape`.
void flatten(const json& data, const std::vector<std::size_t>& shape, std::size_t axis,
             std::vector<json>& out) {
  REQUIRE(data.is_array());
  REQUIRE(data.size() == shape[axis]);
  for (const json& item : data) {
    if (axis + 1 == shape.size()) {
      out.push_back(item);
    } else {
      flatten(item, shape, axis + 1, out);
    }
  }
}

double number_of(const json& value) {
  if (value.is_string()) {
    const std::string s = value.get<std::string>();
    if (s == "nan") return std::nan("");
    if (s == "inf") return HUGE_VAL;
    if (s == "-inf") return -HUGE_VAL;
    FAIL("unexpected string in data: " << s);
  }
  return value.get<double>();
}

void require_same_numbers(const Trace& trace, const json& doc) {
  REQUIRE(doc["stages"].size() == trace.stages.size());
  for (std::size_t n = 0; n < trace.stages.size(); ++n) {
    const Stage& stage = trace.stages[n];
    const json& out = doc["stages"][n];
    CHECK(out["id"] == std::string(stage_name(stage.id)));
    CHECK(out["formula"] == stage.formula);
    CHECK(out["shapes"] == stage.shapes);
    REQUIRE(out["tensors"].size() == stage.tensors.size());
    for (std::size_t k = 0; k < stage.tensors.size(); ++k) {
      const Tensor& t = stage.tensors[k];
      const json& tensor = out["tensors"][k];
      INFO(stage_name(stage.id) << "." << t.name);
      CHECK(tensor["name"] == t.name);
      REQUIRE(tensor["shape"].get<std::vector<std::size_t>>() == t.shape);
      std::vector<json> numbers;
      flatten(tensor["data"], t.shape, 0, numbers);
      REQUIRE(numbers.size() == t.size());
      for (std::size_t i = 0; i < numbers.size(); ++i) {
        const double traced = t.data[i];
        const double read = number_of(numbers[i]);
        if (std::isnan(traced)) {
          CHECK(std::isnan(read));
        } else {
          CHECK(read == traced);  // the shortest text that reads back as the same double
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("the JSON export holds every stage, every number exactly", "[json]") {
  const Trace trace = trace_of(std::string(find_example(default_example)->json));
  const json doc = export_json(trace);
  CHECK(doc["format"] == "attn-trace");
  CHECK(doc["version"] == 1);
  CHECK(doc["name"] == "I am good");
  CHECK(doc["tokens"] == json::parse(R"(["I", "am", "good"])"));
  CHECK(doc["kv_tokens"] == doc["tokens"]);
  const json& config = doc["config"];
  CHECK(config["batch"].is_null());
  CHECK(config["q_len"] == 3);
  CHECK(config["kv_len"] == 3);
  CHECK(config["embed_dim"] == 2);
  CHECK(config["num_heads"] == 1);
  CHECK(config["head_dim"] == 2);
  CHECK(config["scale"].get<double>() == 1 / std::sqrt(2.0));
  CHECK(config["scale_rule"] == "head_dim");
  CHECK(config["weight_layout"] == "torch");
  CHECK(config["projections"] == "learned");
  CHECK(config["out_proj"] == true);
  CHECK(config["key_source"] == "self");
  CHECK(config["key_dim"] == 2);
  CHECK(config["value_dim"] == 2);
  CHECK(config["extra_keys"].empty());
  CHECK(config["masks"].empty());
  CHECK(doc["skipped"][1]["id"] == "split_heads");
  require_same_numbers(trace, doc);
}

TEST_CASE("batched multi-head traces nest batch, head, query and key", "[json]") {
  const Trace trace = trace_of(R"({"input": [[[1, 0.5, -1, 2], [0, 1, 1, 0.25]],
                                             [[0.1, 0.2, 0.3, 0.4], [1e-300, -2, 3, 1]]],
                                   "tokens": [["a", "b"], ["c", "d"]], "num_heads": 2,
                                   "scale": "embed_dim", "weight_layout": "math"})");
  const json doc = export_json(trace);
  CHECK(doc["config"]["batch"] == 2);
  CHECK(doc["config"]["scale_rule"] == "embed_dim");
  CHECK(doc["config"]["projections"] == "identity");
  CHECK(doc["tokens"] == json::parse(R"([["a", "b"], ["c", "d"]])"));
  require_same_numbers(trace, doc);
  const json& weighted = doc["stages"][6]["tensors"][0];  // 0 input … 6 weighted_values
  CHECK(weighted["axes"] == json::parse(R"(["batch", "head", "query", "key", "feature"])"));
  CHECK(weighted["shape"] == json::parse("[2, 2, 2, 2, 2]"));
}

TEST_CASE("inf and nan are written as strings", "[json]") {
  const Trace trace = trace_of(R"({"input": [[1e200, 1e200], [1, 2]]})");
  std::ostringstream out;
  render_json(trace, {}, out);
  const std::string text = out.str();
  CHECK(text.find("\"inf\"") != std::string::npos);
  CHECK(text.find("\"nan\"") != std::string::npos);
  const json doc = json::parse(text);  // still valid JSON
  require_same_numbers(trace, doc);
  CHECK(doc["warnings"].size() == 1);
}

TEST_CASE("the stages option filters the JSON as it filters the text", "[json]") {
  const Trace trace = trace_of(std::string(find_example(default_example)->json));
  const json doc = export_json(
      trace, JsonOptions{{.only = {StageId::scores, StageId::out_proj}}, default_weighted_limit});
  REQUIRE(doc["stages"].size() == 2);
  CHECK(doc["stages"][0]["id"] == "scores");
  CHECK(doc["stages"][1]["id"] == "out_proj");
}

TEST_CASE("a weighted_values above the limit is omitted, and written block by block when asked",
          "[json][scale]") {
  // L = 120, E = d = 80: weighted holds 1,152,000 numbers and is generated, not stored.
  json input = json::array();
  for (int i = 0; i < 120; ++i) {
    json row = json::array();
    for (int j = 0; j < 80; ++j) row.push_back(std::sin(0.1 * (i * 80 + j)));
    input.push_back(row);
  }
  const Trace trace = trace_of(json{{"input", input}}.dump());
  const json omitted =
      export_json(trace, JsonOptions{{.only = {StageId::weighted_values}}, default_weighted_limit});
  const json& tensor = omitted["stages"][0]["tensors"][0];
  CHECK_FALSE(tensor.contains("data"));
  CHECK(tensor["shape"] == json::parse("[120, 120, 80]"));
  CHECK(tensor["omitted"].get<std::string>().find("--weighted-limit 1152000") != std::string::npos);

  const json written =
      export_json(trace, JsonOptions{{.only = {StageId::weighted_values}}, 1'152'000});
  const Tensor& weighted = trace.stages[5].tensors[0];
  REQUIRE(weighted.generated());
  std::vector<json> numbers;
  flatten(written["stages"][0]["tensors"][0]["data"], weighted.shape, 0, numbers);
  for (std::size_t block : {std::size_t{0}, std::size_t{77}, std::size_t{119}}) {
    const Matrix expected = weighted.block_values(block);
    for (Index r = 0; r < expected.rows(); r += 17) {
      for (Index c = 0; c < expected.cols(); c += 13) {
        const std::size_t flat =
            (block * 120 + static_cast<std::size_t>(r)) * 80 + static_cast<std::size_t>(c);
        CHECK(numbers[flat].get<double>() == expected(r, c));
      }
    }
  }
}

TEST_CASE("every kind of double is written so that it reads back exactly", "[json]") {
  // The input stage writes X as given: numbers of every magnitude, sign and digit count.
  const Trace trace = trace_of(R"({"input": [
      [0.1, -0.0, 5e-324, 1.7976931348623157e308],
      [123456789012345678, 1e21, 1e22, 1e-7],
      [0.000001, 1.5e-6, -2.2250738585072014e-308, 4.9406564584124654e-320],
      [1, -1.25, 3.141592653589793, 100]]})");
  std::ostringstream out;
  render_json(trace, JsonOptions{{.only = {StageId::input}}, default_weighted_limit}, out);
  const std::string text = out.str();
  const json doc = json::parse(text);
  const Tensor& X = trace.stages[0].tensors[0];
  std::vector<json> numbers;
  flatten(doc["stages"][0]["tensors"][0]["data"], X.shape, 0, numbers);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    INFO(i << ": " << numbers[i].dump());
    CHECK(numbers[i].get<double>() == X.data[i]);
    CHECK(std::signbit(numbers[i].get<double>()) == std::signbit(X.data[i]));
  }
  // As a reader sees them: short, and plain where plain is short.
  CHECK(text.find("[0.1, -0.0, 5e-324, 1.7976931348623157e308]") != std::string::npos);
  CHECK(text.find("[123456789012345680, 1e21, 1e22, 1e-7]") != std::string::npos);
  CHECK(text.find("[0.000001, 0.0000015, ") != std::string::npos);
  CHECK(text.find("[1, -1.25, 3.141592653589793, 100]") != std::string::npos);
}
