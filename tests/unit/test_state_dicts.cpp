// Real PyTorch modules' state_dicts, traced as run --weights traces them: tests/state_dicts/ was
// written by tools/make_state_dict_goldens.py from the modules themselves (a whole
// nn.TransformerEncoderLayer, a two-layer nn.TransformerEncoder, the tutorials' own modules and
// GPT-2's Conv1D attention, and Hugging Face's BART, Whisper, BERT, ViT and a Llama-family layer
// without rotary embeddings, written as their sources compute them).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/input/state_dict.hpp"
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
  if (args.contains("rope")) options.rope = args["rope"].get<std::string>();
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
  REQUIRE(names.size() == 10);
  for (const std::string& name : names) {
    DYNAMIC_SECTION(name) {
      const json expected = json::parse(read(cases / name / "expected.json"));
      const Trace trace = trace_case(name, expected["args"]);
      golden::check_stages(trace, expected["stages"]);
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
          "weights: layer \"layers.1.self_attn.\" of enc.json (4 of its 24 keys)");
  }
}

TEST_CASE("a state_dict does not record the head count: without one given, it is refused",
          "[state_dict]") {
  // A 4-head nn.TransformerEncoderLayer: traced with one head, its output was off by 20.9.
  const std::string input = read(cases / "encoder-layer" / "input.json");
  LoadOptions options;
  options.weights = WeightsFile{read(cases / "encoder-layer" / "weights.json"), "enc.json",
                                std::string("self_attn.")};
  try {
    (void)load_spec(input, "x.json", options);
    FAIL("a state_dict without a head count was traced");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) ==
          "x.json: num_heads: missing: the weights come from enc.json, and a state_dict does not "
          "record the number of heads");
    CHECK(e.hint() ==
          "give it with --heads N, or as \"num_heads\": N in x.json; N divides the width of Q, K "
          "and V (8): 1, 2, 4, 8");
  }
  SECTION("--heads gives it") {
    options.num_heads = 4;
    CHECK(load_spec(input, "x.json", options).num_heads == 4);
  }
  SECTION("num_heads in the input gives it") {
    json with_heads = json::parse(input);
    with_heads["num_heads"] = 2;
    CHECK(load_spec(with_heads.dump(), "x.json", options).num_heads == 2);
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
  const json input = {{"input", {{1.0, 0.0}, {0.0, 1.0}}}, {"num_heads", 1}};
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

TEST_CASE("layer_of: a key belongs to the nearest layer above it", "[state_dict]") {
  const std::unordered_set<std::string_view> layers = {"", "enc.", "enc.attn."};
  CHECK(layer_of("enc.attn.W_q", layers) == "enc.attn.");
  CHECK(layer_of("enc.norm.weight", layers) == "enc.");
  CHECK(layer_of("W_q", layers) == "");
  CHECK(layer_of("encoder.W_q", layers) == "");  // "encoder." is no layer: "enc." is no prefix
  CHECK_FALSE(layer_of("x.W_q", std::unordered_set<std::string_view>{"enc."}).has_value());
}

TEST_CASE("weights files of real models: what their layers hold besides weights", "[state_dict]") {
  const json input = {{"input", {{1.0, 0.0}, {0.0, 1.0}}}, {"num_heads", 1}};
  const json eye = {{1.0, 0.0}, {0.0, 1.0}};
  const auto load = [&](const json& model, std::optional<std::string> prefix = std::nullopt) {
    LoadOptions options;
    options.weights = WeightsFile{model.dump(), "w.json", std::move(prefix)};
    return load_spec(input.dump(), "x.json", options);
  };

  SECTION("GPT-2's causal-mask buffers, saved by older transformers, are skipped and said so") {
    const json model = {{"h.0.attn.bias", {{{{1.0, 0.0}, {1.0, 1.0}}}}},
                        {"h.0.attn.masked_bias", -10000.0},
                        {"h.0.attn.c_attn.weight", {{1, 0, 1, 0, 1, 0}, {0, 1, 0, 1, 0, 1}}}};
    const Spec spec = load(model);
    REQUIRE(spec.notes.size() >= 2);
    CHECK(spec.notes[1] ==
          "bias and masked_bias skipped: GPT-2's causal-mask buffers, not weights; GPT-2 is "
          "causal, so give \"mask\": \"causal\"");
  }
  SECTION("a layer at the top level next to a nested one: the hint names the top level") {
    const json model = {{"W_q", eye},     {"W_k", eye},     {"W_v", eye},
                        {"dec.W_q", eye}, {"dec.W_k", eye}, {"dec.W_v", eye}};
    REQUIRE_THROWS_MATCHES(
        load(model), Error, Catch::Predicate<Error>([](const Error& e) {
          return std::string(e.what()) ==
                     "w.json: holds 2 attention layers: \"\" (the top level), \"dec.\"; pick one "
                     "with --weights-prefix" &&
                 e.hint() == "for example --weights-prefix \"\"";
        }));
    CHECK(load(model, "").q_proj->weight == Matrix::Identity(2, 2));
  }
  SECTION("keys are shown safely: no terminal escapes, no screenfuls") {
    const std::string evil = "\x1b[2J\x1b[31mevil." + std::string(3000, 'x') + ".";
    const json model = {{evil + "W_q", eye}, {evil + "W_k", eye}};
    try {
      (void)load(model);
      FAIL("no error");
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK(message.find('\x1b') == std::string::npos);
      CHECK(message.size() < 300);
      CHECK_THAT(message, Contains("W_v: missing: W_q, W_k and W_v come together"));
    }
  }
  SECTION("a near miss of GPT-2's Conv1D names says that they are stored transposed") {
    const json model = {{"W_q", eye}, {"W_k", eye}, {"W_v", eye}, {"cproj.weight", eye}};
    REQUIRE_THROWS_MATCHES(
        load(model), Error, Catch::Predicate<Error>([](const Error& e) {
          return e.hint().starts_with("c_proj.weight is GPT-2's Conv1D, stored (in, out)");
        }));
  }
}

TEST_CASE("BERT's, ViT's and BART's names load as the nn.Linear layers they are", "[state_dict]") {
  const json input = {{"input", {{0.2, 0.1}, {0.9, 0.4}, {0.7, 0.8}}}, {"num_heads", 1}};
  const json wq = {{0.5, -0.3}, {0.2, 0.8}}, wk = {{0.4, 0.1}, {-0.6, 0.7}},
             wv = {{0.9, 0.2}, {-0.1, 0.5}}, wo = {{0.6, -0.4}, {0.3, 0.7}};
  const auto load_with = [&](const json& model, std::optional<std::string> prefix = {}) {
    LoadOptions options;
    options.weights = WeightsFile{model.dump(), "w.json", std::move(prefix)};
    return load_spec(input.dump(), "x.json", options);
  };
  const Trace plain = trace_attention(load_with({{"W_q", wq},
                                                 {"b_q", {0.1, -0.1}},
                                                 {"W_k", wk},
                                                 {"W_v", wv},
                                                 {"W_o", wo},
                                                 {"b_o", {0.01, -0.02}}}));
  const Tensor& expected = plain.stages.back().tensors.front();
  const auto output_of = [](const Spec& spec) {
    const Trace trace = trace_attention(spec);
    const Tensor& traced = trace.stages.back().tensors.front();
    REQUIRE(traced.name == "output");
    return traced.data;
  };
  const std::string layer = "encoder.layer.0.attention.";
  const json bert = {{layer + "self.query.weight", wq},
                     {layer + "self.query.bias", {0.1, -0.1}},
                     {layer + "self.key.weight", wk},
                     {layer + "self.value.weight", wv},
                     {layer + "output.dense.weight", wo},
                     {layer + "output.dense.bias", {0.01, -0.02}},
                     {layer + "output.LayerNorm.weight", {1.0, 1.0}},
                     {layer + "output.LayerNorm.bias", {0.0, 0.0}},
                     {"encoder.layer.0.output.dense.weight", {{9.0, 9.0}, {9.0, 9.0}}},
                     {"encoder.layer.0.output.dense.bias", {9.0, 9.0}},
                     {"encoder.layer.1.attention.self.query.weight", wq},
                     {"encoder.layer.1.attention.self.key.weight", wk},
                     {"encoder.layer.1.attention.self.value.weight", wv}};

  SECTION("BERT: self.query/key/value and output.dense together; the FFN's dense is not out_proj") {
    const Spec spec = load_with(bert, layer);
    CHECK(output_of(spec) == expected.data);
    CHECK(std::find(spec.notes.begin(), spec.notes.end(),
                    "output.LayerNorm.bias and output.LayerNorm.weight skipped: BERT's LayerNorm "
                    "after output.dense and the residual, outside attention") != spec.notes.end());
    CHECK(std::find(spec.notes.begin(), spec.notes.end(),
                    "out_proj is BERT's output.dense; BERT then adds the residual and applies "
                    "output.LayerNorm, outside attention") != spec.notes.end());
  }
  SECTION("BERT's layers are listed once each, by the prefix that holds output.dense") {
    REQUIRE_THROWS_WITH(load_with(bert),
                        "w.json: holds 2 attention layers: \"encoder.layer.0.attention.\", "
                        "\"encoder.layer.1.attention.\"; pick one with --weights-prefix");
  }
  SECTION(
      "the prefix of BERT's self-attention module alone: Q/K/V only, and a note says where "
      "output.dense is") {
    const Spec spec = load_with(bert, layer + "self.");
    CHECK_FALSE(spec.out_proj.has_value());
    CHECK(spec.q_proj->weight == Matrix{{0.5, -0.3}, {0.2, 0.8}});
    CHECK(std::find(spec.notes.begin(), spec.notes.end(),
                    "\"encoder.layer.0.attention.self.\" holds BERT's Q, K and V only: its output "
                    "projection, output.dense, is in \"encoder.layer.0.attention.\"; "
                    "--weights-prefix encoder.layer.0.attention. traces it too") !=
          spec.notes.end());
  }
  SECTION("a whole BERT layer is no attention layer: did you mean its attention?") {
    REQUIRE_THROWS_MATCHES(
        load_with(bert, "encoder.layer.0."), Error, Catch::Predicate<Error>([](const Error& e) {
          return e.hint() == "did you mean --weights-prefix encoder.layer.0.attention.?";
        }));
  }
  SECTION("ViT: attention.query/key/value and output.dense") {
    const std::string vit = "vit.encoder.layer.0.attention.";
    const json model = {{vit + "attention.query.weight", wq},
                        {vit + "attention.query.bias", {0.1, -0.1}},
                        {vit + "attention.key.weight", wk},
                        {vit + "attention.value.weight", wv},
                        {vit + "output.dense.weight", wo},
                        {vit + "output.dense.bias", {0.01, -0.02}},
                        {"vit.encoder.layer.0.output.dense.weight", {{9.0, 9.0}, {9.0, 9.0}}}};
    CHECK(output_of(load_with(model)) == expected.data);
  }
  SECTION("BART: q_proj/k_proj/v_proj and out_proj, each bias on its own") {
    const json model = {{"q_proj.weight", wq},   {"q_proj.bias", {0.1, -0.1}},
                        {"k_proj.weight", wk},   {"v_proj.weight", wv},
                        {"out_proj.weight", wo}, {"out_proj.bias", {0.01, -0.02}}};
    const Spec spec = load_with(model);
    CHECK_FALSE(spec.k_proj->bias.has_value());
    CHECK(output_of(spec) == expected.data);
  }
  SECTION("timm's qkv and proj") {
    const json model = {{"blocks.0.attn.qkv.weight", {wq[0], wq[1], wk[0], wk[1], wv[0], wv[1]}},
                        {"blocks.0.attn.qkv.bias", {0.1, -0.1, 0, 0, 0, 0}},
                        {"blocks.0.attn.proj.weight", wo},
                        {"blocks.0.attn.proj.bias", {0.01, -0.02}}};
    CHECK(output_of(load_with(model)) == expected.data);
  }
}

TEST_CASE("a Llama-family layer: refused unless it has no rotary embeddings and no grouped K/V",
          "[state_dict]") {
  const json input = {{"input", {{0.2, 0.1}, {0.9, 0.4}}}, {"num_heads", 1}};
  const json eye = {{1.0, 0.0}, {0.0, 1.0}};
  json model = {{"model.layers.0.self_attn.q_proj.weight", eye},
                {"model.layers.0.self_attn.k_proj.weight", eye},
                {"model.layers.0.self_attn.v_proj.weight", eye},
                {"model.layers.0.self_attn.o_proj.weight", eye}};
  const auto load_with = [&](std::optional<std::string> rope) {
    LoadOptions options;
    options.weights = WeightsFile{model.dump(), "w.json", std::nullopt};
    options.rope = std::move(rope);
    return load_spec(input.dump(), "x.json", options);
  };
  SECTION("o_proj without --rope none") {
    REQUIRE_THROWS_MATCHES(
        load_with(std::nullopt), Error, Catch::Predicate<Error>([](const Error& e) {
          return std::string(e.what()).starts_with(
                     "w.json: model.layers.0.self_attn.o_proj.weight: o_proj is the Llama "
                     "family's") &&
                 e.hint() ==
                     "if this layer has no rotary embeddings, say so: --rope none, or \"rope\": "
                     "\"none\" in x.json";
        }));
  }
  SECTION("--rope none traces it, and the header says so") {
    const Spec spec = load_with("none");
    CHECK(spec.out_proj->weight == Matrix::Identity(2, 2));
    CHECK(std::find(spec.notes.begin(), spec.notes.end(),
                    "o_proj: a Llama-family layer, traced without rotary position embeddings, as "
                    "--rope none says") != spec.notes.end());
  }
  SECTION("--rope rotate_half is not supported yet") {
    REQUIRE_THROWS_WITH(load_with("rotate_half"),
                        "x.json: --rope: rotary position embeddings (\"rotate_half\") are not "
                        "supported yet");
  }
  SECTION("rotary_emb.inv_freq: refused even with --rope none") {
    model["model.layers.0.self_attn.rotary_emb.inv_freq"] = {1.0};
    REQUIRE_THROWS_WITH(load_with("none"),
                        Contains("w.json: model.layers.0.self_attn.rotary_emb.inv_freq: this layer "
                                 "applies rotary position embeddings (RoPE), which are not "
                                 "supported yet"));
    REQUIRE_THROWS_WITH(load_with("none"), Contains("so --rope none cannot be right"));
  }
  SECTION("grouped K/V heads: fewer rows in k_proj than in q_proj") {
    model["model.layers.0.self_attn.k_proj.weight"] = {{1.0, 0.0}};
    model["model.layers.0.self_attn.v_proj.weight"] = {{0.0, 1.0}};
    REQUIRE_THROWS_WITH(load_with("none"),
                        Contains("w.json: model.layers.0.self_attn.k_proj.weight: expected shape "
                                 "(2, 2) like q_proj.weight, found (1, 2): K and V with fewer "
                                 "heads than Q are grouped-query attention (num_key_value_heads < "
                                 "num_heads), which is not supported yet"));
  }
}
