// Every stage tensor against PyTorch: every tests/golden/*.json (plain self-attention, mask-* and
// cross-*) was written by one script, tools/make_goldens.py (rerun: /usr/bin/python3
// tools/make_goldens.py), which checks its numbers against torch.nn.MultiheadAttention itself.
// Each file holds an input document and, for every stage, the tensors the trace must contain.
// tests/python_json/ (tools/make_python_json_goldens.py) holds files as Python's json.dump writes
// them, with NaN and -Infinity, and what nn.MultiheadAttention computes from them.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/input/state_dict.hpp"
#include "golden.hpp"

using namespace attn_trace;
using json = nlohmann::json;

namespace {

std::vector<std::filesystem::path> golden_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(ATTN_TRACE_GOLDEN_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

const std::filesystem::path python_json =
    std::filesystem::path(ATTN_TRACE_TESTS_DIR) / "python_json";

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A case of tests/python_json/: its input file traced with its state_dict, as
// `attn-trace run input.json --weights weights.json` traces them.
Trace trace_python_case(const std::string& name) {
  LoadOptions options;
  options.weights =
      WeightsFile{read(python_json / name / "weights.json"), name + "/weights.json", std::nullopt};
  return trace_attention(
      load_spec(read(python_json / name / "input.json"), name + "/input.json", options));
}

}  // namespace

TEST_CASE("every stage matches PyTorch's nn.MultiheadAttention", "[golden]") {
  const auto files = golden_files();
  REQUIRE(files.size() >= 50);
  for (const auto& path : files) {
    DYNAMIC_SECTION(path.stem().string()) {
      std::ifstream in(path);
      const json golden = json::parse(in);
      const Trace trace = trace_attention(load_spec(golden["input"].dump(), path.string()));

      // The same stages, in paper order (the order of stage_names()).
      std::vector<std::string> expected_ids, traced_ids;
      for (std::string_view id : stage_names()) {
        if (golden["stages"].contains(std::string(id))) expected_ids.emplace_back(id);
      }
      for (const Stage& stage : trace.stages) traced_ids.emplace_back(stage_name(stage.id));
      CHECK(traced_ids == expected_ids);

      for (const auto& [stage_id, tensors] : golden["stages"].items()) {
        const Stage* stage = golden::find_stage(trace, stage_id);
        REQUIRE(stage != nullptr);
        CHECK(stage->tensors.size() == tensors.size());
        for (const auto& [name, expected] : tensors.items()) {
          INFO(stage_id << "." << name);
          const Tensor* tensor = golden::find_tensor(*stage, name);
          REQUIRE(tensor != nullptr);
          golden::check_tensor(*tensor, expected);
        }
      }
    }
  }
}

TEST_CASE("files json.dump wrote with NaN and -Infinity trace as PyTorch computes them",
          "[golden][python_json]") {
  for (const std::string name : {"causal-mask", "nan-input", "infinite-bias"}) {
    DYNAMIC_SECTION(name) {
      const std::string input = read(python_json / name / "input.json");
      REQUIRE(input.find("-Infinity") != std::string::npos);  // written as Python writes it
      const json expected = json::parse(read(python_json / name / "expected.json"));
      const Trace trace = trace_python_case(name);
      CHECK(golden::check_stages(trace, expected["stages"]) == 5);  // Q, K, V, weights, output
    }
  }
}

TEST_CASE("PyTorch's causal mask from json.dump blocks what \"mask\": \"causal\" blocks",
          "[golden][python_json]") {
  LoadOptions options;
  options.weights =
      WeightsFile{read(python_json / "causal-mask" / "weights.json"), "weights.json", std::nullopt};
  const Spec dumped =
      load_spec(read(python_json / "causal-mask" / "input.json"), "input.json", options);
  // The mask as generate_square_subsequent_mask makes it: −∞ above the diagonal, 0 elsewhere.
  REQUIRE(dumped.masks.attn_mask.has_value());
  const Matrix& given = dumped.masks.attn_mask->blocks.at(0);
  REQUIRE(given.rows() == 4);
  for (Index i = 0; i < 4; ++i) {
    for (Index j = 0; j < 4; ++j) {
      CHECK(given(i, j) == (j > i ? -std::numeric_limits<double>::infinity() : 0.0));
    }
  }
  // The same attention with "mask": "causal" instead: the same weights, exactly.
  Spec causal = dumped;
  causal.masks.attn_mask.reset();
  causal.masks.mask = KeepMask{.causal = true, .per_batch = false, .keep = {causal_keep(4, 4)}};
  const auto weights = [](const Spec& spec) {
    return trace_attention(spec).find_stage(StageId::softmax)->tensors.at(0).data;
  };
  CHECK(weights(dumped) == weights(causal));
}
