// Every stage tensor against PyTorch: tests/golden/*.json were written by tools/make_goldens.py,
// which checks its numbers against torch.nn.MultiheadAttention itself. Each file holds an input
// document and, for every stage, the tensors the trace must contain.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/load.hpp"
#include "attn_trace/tracer.hpp"

using namespace attn_trace;
using json = nlohmann::json;

namespace {

constexpr double relative_tolerance = 1e-9;
constexpr double absolute_floor = 1e-15;

std::vector<std::filesystem::path> golden_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(ATTN_TRACE_GOLDEN_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A golden number: JSON has no inf or nan, so the generator writes those as strings.
double golden_number(const json& value) {
  if (value.is_number()) return value.get<double>();
  const std::string text = value.get<std::string>();
  if (text == "-inf") return -std::numeric_limits<double>::infinity();
  if (text == "inf") return std::numeric_limits<double>::infinity();
  REQUIRE(text == "nan");
  return std::numeric_limits<double>::quiet_NaN();
}

// Equal within the tolerance, or the same non-finite value (nan where PyTorch has nan, −inf where
// it has −inf).
bool matches(double traced, double expected) {
  if (std::isnan(expected) || std::isnan(traced)) return std::isnan(expected) && std::isnan(traced);
  if (std::isinf(expected) || std::isinf(traced)) return traced == expected;
  // Relative to the value; an exact zero in PyTorch may come out as ±1e-17 here.
  const double error = std::abs(traced - expected);
  return error <= relative_tolerance * std::abs(expected) || error <= absolute_floor;
}

const Tensor* find_tensor(const Stage& stage, const std::string& name) {
  for (const Tensor& t : stage.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
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

      // The same stages, in paper order (the order of stage_ids()).
      std::vector<std::string> expected_ids, traced_ids;
      for (std::string_view id : stage_ids()) {
        if (golden["stages"].contains(std::string(id))) expected_ids.emplace_back(id);
      }
      for (const Stage& stage : trace.stages) traced_ids.push_back(stage.id);
      CHECK(traced_ids == expected_ids);

      for (const auto& [stage_id, tensors] : golden["stages"].items()) {
        const Stage* stage = trace.find_stage(stage_id);
        REQUIRE(stage != nullptr);
        CHECK(stage->tensors.size() == tensors.size());
        for (const auto& [name, expected] : tensors.items()) {
          INFO(stage_id << "." << name);
          const Tensor* tensor = find_tensor(*stage, name);
          REQUIRE(tensor != nullptr);
          REQUIRE(tensor->shape == expected["shape"].get<std::vector<std::size_t>>());
          std::vector<double> data;
          for (const json& value : expected["data"]) data.push_back(golden_number(value));
          REQUIRE(tensor->data.size() == data.size());
          std::size_t mismatches = 0;
          for (std::size_t i = 0; i < data.size(); ++i) {
            if (!matches(tensor->data[i], data[i])) {
              ++mismatches;
              FAIL_CHECK("element " << i << ": traced " << tensor->data[i] << ", PyTorch "
                                    << data[i]);
            }
          }
          CHECK(mismatches == 0);
        }
      }
    }
  }
}
