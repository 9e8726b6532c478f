// safetensors files as run --weights reads them: tests/safetensors/ was written by
// tools/make_safetensors.py from real modules (nn.MultiheadAttention in F64, F32, F16 and BF16; a
// two-layer nn.TransformerEncoder), with what the modules compute from the stored values, and the
// same values as a JSON state_dict. The bad files of tests/bad_inputs/ have their messages checked
// there (check.sh); here, what only a unit test can see: the exact conversions, the mapping, the
// budget.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "arrays.hpp"  // src/input's, private: the F16 and BF16 conversions
#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/input/source.hpp"
#include "golden.hpp"
#include "safetensors.hpp"  // src/input's, private: the header's reader

using namespace attn_trace;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

const std::filesystem::path cases = ATTN_TRACE_TESTS_DIR "/safetensors";
const std::vector<std::string> case_names = {"encoder-two-layers", "mha-bf16", "mha-f16", "mha-f32",
                                             "mha-f64"};

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The case's input, loaded as `run INPUT --weights WEIGHTS` loads it, with its expected.json's
// --weights-prefix and --heads.
LoadedInput load_case(const std::string& name, const std::filesystem::path& weights,
                      std::uint64_t budget = default_memory_budget) {
  const json args = json::parse(read(cases / name / "expected.json"))["args"];
  InputSource source{.file = (cases / name / "input.json").string(),
                     .weights = weights.string(),
                     .memory_budget = budget};
  if (args.contains("weights_prefix")) source.weights_prefix = args["weights_prefix"];
  if (args.contains("heads")) source.heads = args["heads"].get<Index>();
  return load_input(source);
}

// Bitwise equal: the same doubles, nan where nan.
bool same_number(double a, double b) {
  return std::isnan(a) ? std::isnan(b) : std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("safetensors files of real modules trace as PyTorch computes them", "[safetensors]") {
  for (const std::string& name : case_names) {
    DYNAMIC_SECTION(name) {
      const json expected = json::parse(read(cases / name / "expected.json"));
      const Trace trace = trace_attention(load_case(name, cases / name / "model.safetensors").spec);
      REQUIRE(expected["stages"].size() == 3);
      golden::check_stages(trace, expected["stages"]);
    }
  }
}

TEST_CASE("a layer from safetensors traces exactly as the same values from JSON", "[safetensors]") {
  // weights.json holds torch's .double() of every stored value: F32, F16 and BF16 converted
  // exactly must give the very same doubles, so the very same trace.
  for (const std::string& name : case_names) {
    DYNAMIC_SECTION(name) {
      const Trace binary =
          trace_attention(load_case(name, cases / name / "model.safetensors").spec);
      const Trace text = trace_attention(load_case(name, cases / name / "weights.json").spec);
      CHECK(golden::require_identical(binary, text) > 100);
    }
  }
}

TEST_CASE("F16 and BF16 convert exactly, as torch's .double() does", "[safetensors]") {
  SECTION("edge values, by hand") {
    using loader::bf16_to_double;
    using loader::f16_to_double;
    CHECK(f16_to_double(0x0000) == 0.0);
    CHECK(std::signbit(f16_to_double(0x8000)));
    CHECK(f16_to_double(0x0001) == std::ldexp(1.0, -24));     // the smallest subnormal
    CHECK(f16_to_double(0x03FF) == std::ldexp(1023.0, -24));  // the largest subnormal
    CHECK(f16_to_double(0x0400) == std::ldexp(1.0, -14));     // the smallest normal
    CHECK(f16_to_double(0x3C00) == 1.0);
    CHECK(f16_to_double(0x3555) == 0.333251953125);
    CHECK(f16_to_double(0x7BFF) == 65504.0);  // the largest
    CHECK(f16_to_double(0xFBFF) == -65504.0);
    CHECK(f16_to_double(0x7C00) == std::numeric_limits<double>::infinity());
    CHECK(f16_to_double(0xFC00) == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(f16_to_double(0x7E00)));
    CHECK(std::isnan(f16_to_double(0x7C01)));
    CHECK(bf16_to_double(0x3F80) == 1.0);
    CHECK(bf16_to_double(0x0001) == std::ldexp(1.0, -133));   // the smallest subnormal
    CHECK(bf16_to_double(0x0080) == std::ldexp(1.0, -126));   // the smallest normal
    CHECK(bf16_to_double(0x7F7F) == std::ldexp(255.0, 120));  // the largest: (2 − 2^−7)·2^127
    CHECK(bf16_to_double(0xFF80) == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(bf16_to_double(0x7FC0)));
  }
  SECTION("every value of dtypes.safetensors against torch's conversion beside it") {
    const std::string bytes = read(cases / "dtypes.safetensors");
    const loader::SafetensorsIndex index = loader::read_safetensors_index(bytes, "dtypes");
    const auto values = [&](std::string_view name) {
      for (const loader::SafetensorsTensor& tensor : index.tensors) {
        if (tensor.name == name) return loader::tensor_values(index, tensor, "dtypes");
      }
      FAIL("no tensor " << name);
      return std::vector<double>{};
    };
    for (const std::string dtype : {"f16", "bf16"}) {
      INFO(dtype);
      const std::vector<double> converted = values(dtype);
      const std::vector<double> torch = values(dtype + "_as_f64");
      REQUIRE(converted.size() == torch.size());
      REQUIRE(converted.size() > 280);
      for (std::size_t i = 0; i < converted.size(); ++i) {
        INFO("value " << i << ": " << converted[i] << " vs torch's " << torch[i]);
        CHECK(same_number(converted[i], torch[i]));
      }
    }
    CHECK(values("empty").empty());
    CHECK(values("scalar") == values("scalar_as_f64"));
    CHECK(values("scalar").front() != 0.1);  // a float's 0.1, exactly
  }
}

TEST_CASE("a safetensors file is found by its name or by its first bytes", "[safetensors]") {
  const std::filesystem::path model = cases / "mha-f32" / "model.safetensors";
  CHECK(loader::is_safetensors_file(model.string()));
  CHECK_FALSE(loader::is_safetensors_file((cases / "mha-f32" / "weights.json").string()));
  CHECK_FALSE(loader::is_safetensors_file("-"));
  CHECK_FALSE(loader::is_safetensors_file("no-such-file.bin"));

  // The same bytes under another name load the same.
  const std::filesystem::path renamed =
      std::filesystem::temp_directory_path() / "attn-trace-test-model.bin";
  std::filesystem::copy_file(model, renamed, std::filesystem::copy_options::overwrite_existing);
  CHECK(loader::is_safetensors_file(renamed.string()));
  const Spec spec = load_case("mha-f32", renamed).spec;
  const Spec expected = load_case("mha-f32", model).spec;
  std::filesystem::remove(renamed);
  CHECK(spec.q_proj->weight == expected.q_proj->weight);
  REQUIRE(!spec.notes.empty());
  CHECK_THAT(spec.notes.front(), Contains("attn-trace-test-model.bin (4 of its 4 keys)"));

  // Bytes in memory rather than mapped (what the fuzzer gives) read the same.
  LoadOptions options;
  options.num_heads = 2;
  options.weights = WeightsFile{.text = read(model),
                                .file = "m.safetensors",
                                .prefix = {},
                                .format = WeightsFormat::safetensors};
  const Spec in_memory = load_spec(read(cases / "mha-f32" / "input.json"), "x.json", options);
  CHECK(in_memory.q_proj->weight == expected.q_proj->weight);
}

TEST_CASE("a whole model's safetensors file: its layers are listed and picked as in JSON",
          "[safetensors]") {
  const std::string input = read(cases / "encoder-two-layers" / "input.json");
  const auto load = [&](std::optional<std::string> prefix) {
    LoadOptions options;
    options.num_heads = 2;
    options.weights = WeightsFile{.text = read(cases / "encoder-two-layers" / "model.safetensors"),
                                  .file = "enc.safetensors",
                                  .prefix = std::move(prefix),
                                  .format = WeightsFormat::safetensors};
    return load_spec(input, "x.json", options);
  };
  REQUIRE_THROWS_WITH(load(std::nullopt),
                      "enc.safetensors: holds 2 attention layers: \"layers.0.self_attn.\", "
                      "\"layers.1.self_attn.\"; pick one with --weights-prefix");
  REQUIRE_THROWS_WITH(load("layers.2"), Contains("no attention layer has that prefix"));
  const Spec second = load("layers.1.self_attn");
  CHECK(second.notes.front() ==
        "weights: layer \"layers.1.self_attn.\" of enc.safetensors (4 of its 25 keys)");
  CHECK(load("layers.0.self_attn.").q_proj->weight != second.q_proj->weight);
}

TEST_CASE("the memory budget counts the layer read, not the file mapped", "[safetensors]") {
  // The layer: 4 tensors, 24·8 + 24 + 8·8 + 8 = 288 numbers, 32 bytes each while loading; the
  // file holds 25 tensors.
  const auto load = [](std::uint64_t budget) {
    LoadOptions options;
    options.num_heads = 2;
    options.weights = WeightsFile{.text = read(cases / "encoder-two-layers" / "model.safetensors"),
                                  .file = "enc.safetensors",
                                  .prefix = "layers.1.self_attn.",
                                  .format = WeightsFormat::safetensors,
                                  .max_layer_bytes = budget};
    return load_spec(read(cases / "encoder-two-layers" / "input.json"), "x.json", options);
  };
  CHECK_NOTHROW(load(288 * 32));
  REQUIRE_THROWS_WITH(load(288 * 32 - 1),
                      "enc.safetensors: the 4 tensors of layer \"layers.1.self_attn.\" hold 288 "
                      "numbers, which take about 9 KiB of memory once read, more than the memory "
                      "budget of 9 KiB");
}
