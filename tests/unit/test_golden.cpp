// Every stage tensor against PyTorch: every tests/golden/*.json (plain self-attention, mask-* and
// cross-*) was written by one script, tools/make_goldens.py (rerun: /usr/bin/python3
// tools/make_goldens.py), which checks its numbers against torch.nn.MultiheadAttention itself.
// Each file holds an input document and, for every stage, the tensors the trace must contain.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"
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
