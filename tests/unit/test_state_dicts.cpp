// Real PyTorch modules' state_dicts, traced as run --weights traces them: tests/state_dicts/ was
// written by tools/make_state_dict_goldens.py from the modules themselves (a whole
// nn.TransformerEncoderLayer, a two-layer nn.TransformerEncoder, the tutorials' own modules and
// GPT-2's Conv1D attention).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/error.hpp"
#include "attn_trace/load.hpp"
#include "attn_trace/state_dict.hpp"
#include "attn_trace/tracer.hpp"
#include "golden.hpp"

using namespace attn_trace;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

const std::filesystem::path cases = ATTN_TRACE_STATE_DICTS_DIR;

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The case's input traced with its weights file and the options its expected.json names.
Trace trace_case(const std::string& name, const json& args) {
  LoadOptions options;
  options.weights =
      WeightsFile{read(cases / name / "weights.json"), name + "/weights.json", std::nullopt};
  if (args.contains("weights_prefix")) {
    options.weights->prefix = args["weights_prefix"].get<std::string>();
  }
  if (args.contains("heads")) options.num_heads = args["heads"].get<Index>();
  return trace_attention(
      load_spec(read(cases / name / "input.json"), name + "/input.json", options));
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(cases)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("state_dicts of real modules trace as PyTorch computes them", "[state_dict]") {
  const auto names = case_names();
  REQUIRE(names.size() == 5);
  for (const std::string& name : names) {
    DYNAMIC_SECTION(name) {
      const json expected = json::parse(read(cases / name / "expected.json"));
      const Trace trace = trace_case(name, expected["args"]);
      for (const auto& [stage_id, tensors] : expected["stages"].items()) {
        const Stage* stage = trace.find_stage(stage_id);
        REQUIRE(stage != nullptr);
        for (const auto& [tensor_name, values] : tensors.items()) {
          INFO(stage_id << "." << tensor_name);
          const Tensor* tensor = golden::find_tensor(*stage, tensor_name);
          REQUIRE(tensor != nullptr);
          golden::check_tensor(*tensor, values);
        }
      }
    }
  }
}

TEST_CASE("the layer of a whole model is the one --weights-prefix names", "[state_dict]") {
  const std::string input = read(cases / "encoder-second-layer" / "input.json");
  const std::string model = read(cases / "encoder-second-layer" / "weights.json");
  const auto load = [&](std::optional<std::string> prefix) {
    LoadOptions options;
    options.weights = WeightsFile{model, "enc.json", std::move(prefix)};
    return load_spec(input, "x.json", options);
  };

  SECTION("several layers and none picked: the error lists them") {
    REQUIRE_THROWS_WITH(load(std::nullopt),
                        "enc.json: holds 2 attention layers: \"layers.0.self_attn.\", "
                        "\"layers.1.self_attn.\"; pick one with --weights-prefix");
  }
  SECTION("a prefix that names no layer") {
    REQUIRE_THROWS_WITH(load("layers.2.self_attn."),
                        Contains("enc.json: --weights-prefix layers.2.self_attn.: no attention "
                                 "layer has that prefix; the file's layers are: "
                                 "\"layers.0.self_attn.\", \"layers.1.self_attn.\""));
    REQUIRE_THROWS_WITH(load("layers.0."), Contains("no attention layer has that prefix"));
  }
  SECTION("each layer gives its own weights, and the header says which") {
    const Spec first = load("layers.0.self_attn.");
    const Spec second = load("layers.1.self_attn");  // the trailing dot may be left out
    CHECK(first.q_proj->weight != second.q_proj->weight);
    REQUIRE(!second.notes.empty());
    CHECK(second.notes.front() ==
          "weights from enc.json, layer \"layers.1.self_attn.\" (4 of its 24 keys)");
  }
}

TEST_CASE("attention_layers finds each layer once, by its Q/K/V weights", "[state_dict]") {
  const std::vector<std::string> keys = {"wte.weight",
                                         "h.0.attn.c_attn.weight",
                                         "h.0.attn.c_attn.bias",
                                         "h.0.attn.c_proj.weight",
                                         "h.0.mlp.c_proj.weight",
                                         "h.1.attn.c_attn.weight",
                                         "in_proj_weight",
                                         "xin_proj_weight",
                                         "dec.layers.0.W_q",
                                         "dec.layers.0.W_k"};
  CHECK(attention_layers(keys) ==
        std::vector<std::string>{"h.0.attn.", "h.1.attn.", "", "dec.layers.0."});
  CHECK(layer_prefix("self_attn") == "self_attn.");
  CHECK(layer_prefix("self_attn.") == "self_attn.");
  CHECK(layer_prefix("") == "");
}

TEST_CASE("a layer at the top level leaves a nested layer's keys alone", "[state_dict]") {
  const json input = {{"input", {{1.0, 0.0}, {0.0, 1.0}}}};
  const json model = {{"W_q", {{1.0, 0.0}, {0.0, 1.0}}}, {"W_k", {{2.0, 0.0}, {0.0, 2.0}}},
                      {"W_v", {{3.0, 0.0}, {0.0, 3.0}}}, {"decoder.W_q", {{9.0}}},
                      {"decoder.W_k", {{9.0}}},          {"decoder.W_v", {{9.0}}}};
  LoadOptions options;
  options.weights = WeightsFile{model.dump(), "w.json", ""};
  const Spec spec = load_spec(input.dump(), "x.json", options);
  CHECK(spec.k_proj->weight(0, 0) == 2.0);
  options.weights->prefix = "decoder";
  REQUIRE_THROWS_WITH(load_spec(input.dump(), "x.json", options),
                      Contains("w.json: decoder.W_q: expected shape (out, 2) for embed dim 2, "
                               "found (1, 1)"));
}
