// Comparing a trace with tensors PyTorch computed (tests/golden/, tests/state_dicts/, …), and with
// another trace of the same case.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/trace.hpp"

namespace attn_trace::golden {

inline constexpr double relative_tolerance = 1e-9;
inline constexpr double absolute_floor = 1e-15;

// A golden number: JSON has no inf or nan, so the generators write those as strings.
inline double number(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  const std::string text = value.get<std::string>();
  if (text == "-inf") return -std::numeric_limits<double>::infinity();
  if (text == "inf") return std::numeric_limits<double>::infinity();
  REQUIRE(text == "nan");
  return std::numeric_limits<double>::quiet_NaN();
}

// Equal within the tolerance, or the same non-finite value (nan where PyTorch has nan, −inf where
// it has −inf).
inline bool matches(double traced, double expected) {
  if (std::isnan(expected) || std::isnan(traced)) return std::isnan(expected) && std::isnan(traced);
  if (std::isinf(expected) || std::isinf(traced)) return traced == expected;
  // Relative to the value; an exact zero in PyTorch may come out as ±1e-17 here.
  const double error = std::abs(traced - expected);
  return error <= relative_tolerance * std::abs(expected) || error <= absolute_floor;
}

// The stage a golden file (or a test) calls `name`, or nullptr when the trace has none. An unknown
// name fails the test.
inline const Stage* find_stage(const Trace& trace, std::string_view name) {
  const std::optional<StageId> id = stage_named(name);
  INFO("stage " << name);
  REQUIRE(id.has_value());
  return trace.find_stage(*id);
}

inline const Tensor* find_tensor(const Stage& stage, const std::string& name) {
  for (const Tensor& t : stage.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// `tensor` against {"shape": [...], "data": [flat, row-major]}: the same shape, every number
// within the tolerance.
inline void check_tensor(const Tensor& tensor, const nlohmann::json& expected) {
  REQUIRE(tensor.shape == expected["shape"].get<std::vector<std::size_t>>());
  std::vector<double> data;
  for (const nlohmann::json& value : expected["data"]) data.push_back(number(value));
  REQUIRE(tensor.data.size() == data.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (!matches(tensor.data[i], data[i])) {
      ++mismatches;
      FAIL_CHECK("element " << i << ": traced " << tensor.data[i] << ", PyTorch " << data[i]);
    }
  }
  CHECK(mismatches == 0);
}

// Every tensor a golden file's "stages" object names ({"softmax": {"weights": {...}}, ...}) against
// the trace's, with check_tensor. Returns how many tensors were checked.
inline std::size_t check_stages(const Trace& trace, const nlohmann::json& expected_stages) {
  std::size_t checked = 0;
  for (const auto& [stage_id, tensors] : expected_stages.items()) {
    const Stage* stage = find_stage(trace, stage_id);
    REQUIRE(stage != nullptr);
    for (const auto& [tensor_name, values] : tensors.items()) {
      INFO(stage_id << "." << tensor_name);
      const Tensor* tensor = find_tensor(*stage, tensor_name);
      REQUIRE(tensor != nullptr);
      check_tensor(*tensor, values);
      ++checked;
    }
  }
  return checked;
}

// Two traces of one case given two ways (JSON and a binary file): the same stages and tensors, the
// same doubles bit for bit (a nan matches any nan). Returns how many numbers were compared.
inline std::size_t require_identical(const Trace& a, const Trace& b) {
  REQUIRE(a.stages.size() == b.stages.size());
  std::size_t numbers = 0;
  for (std::size_t s = 0; s < a.stages.size(); ++s) {
    REQUIRE(a.stages[s].tensors.size() == b.stages[s].tensors.size());
    for (std::size_t t = 0; t < a.stages[s].tensors.size(); ++t) {
      const Tensor& x = a.stages[s].tensors[t];
      const Tensor& y = b.stages[s].tensors[t];
      INFO(stage_name(a.stages[s].id) << "." << x.name);
      REQUIRE(x.shape == y.shape);
      REQUIRE(x.data.size() == y.data.size());
      for (std::size_t i = 0; i < x.data.size(); ++i) {
        const double p = x.data[i], q = y.data[i];
        const bool same = std::isnan(p) ? std::isnan(q) : std::memcmp(&p, &q, sizeof p) == 0;
        if (!same) FAIL("differs at element " << i << ": " << p << " and " << q);
      }
      numbers += x.data.size();
    }
  }
  return numbers;
}

}  // namespace attn_trace::golden

// Catch prints a stage by its name in a failed check.
template <>
struct Catch::StringMaker<attn_trace::StageId> {
  static std::string convert(attn_trace::StageId id) {
    return std::string(attn_trace::stage_name(id));
  }
};
