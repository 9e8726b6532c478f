// The memory estimate that lets the CLI refuse a trace too large before computing it: it must
// track what the tracer really holds, for every kind of trace.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"

using namespace attn_trace;
using json = nlohmann::json;

namespace {

json ramp(std::size_t rows, std::size_t cols) {
  json m = json::array();
  for (std::size_t i = 0; i < rows; ++i) {
    json row = json::array();
    for (std::size_t j = 0; j < cols; ++j)
      row.push_back(static_cast<double>((i * cols + j) % 7) / 7);
    m.push_back(row);
  }
  return m;
}

// Bytes of every number the trace holds, and of the spec's own matrices.
double held_bytes(const Spec& spec, const Trace& trace) {
  double numbers = 0;
  for (const Stage& stage : trace.stages) {
    for (const Tensor& t : stage.tensors) numbers += static_cast<double>(t.data.size());
  }
  // A generated weighted_values keeps copies of the weights and of V_h to compute its blocks.
  const Stage* weighted = trace.find_stage(StageId::weighted_values);
  if (weighted->tensors[0].generated()) {
    numbers += static_cast<double>(trace.find_stage(StageId::softmax)->tensors[0].size());
    const Stage* heads = trace.find_stage(StageId::split_heads);
    numbers += static_cast<double>(
        (heads ? heads : trace.find_stage(StageId::projections))->tensors[2].size());
  }
  // The tracer works on Q, K and V (as the last of these stages has them) and on the context
  // (merged, when there are heads) beside the copies the stages record.
  for (StageId id : {StageId::split_heads, StageId::extra_keys, StageId::projections}) {
    if (const Stage* stage = trace.find_stage(id)) {
      for (const Tensor& t : stage->tensors) numbers += static_cast<double>(t.data.size());
      break;
    }
  }
  for (StageId id : {StageId::merge_heads, StageId::summation}) {
    if (const Stage* stage = trace.find_stage(id)) {
      numbers += static_cast<double>(stage->tensors[0].data.size());
      break;
    }
  }
  for (const Matrix& x : spec.inputs) numbers += static_cast<double>(x.size());
  for (const Matrix& x : spec.key_inputs) numbers += static_cast<double>(x.size());
  for (const auto* linear : {&spec.q_proj, &spec.k_proj, &spec.v_proj, &spec.out_proj}) {
    if (*linear) numbers += static_cast<double>((*linear)->weight.size());
  }
  return numbers * sizeof(double);
}

}  // namespace

TEST_CASE("the estimate covers what the tracer holds, and not much more", "[memory]") {
  const json weights = {{"in_proj_weight", ramp(24, 8)}, {"out_proj.weight", ramp(8, 8)}};
  const std::vector<json> docs = {
      {{"input", ramp(30, 8)}, {"num_heads", 2}, {"weights", weights}},
      {{"input", ramp(30, 8)}, {"num_heads", 1}},
      {{"input", json::array({ramp(20, 8), ramp(20, 8)})}, {"num_heads", 4}, {"mask", "causal"}},
      {{"input", ramp(12, 8)},
       {"kv_input", ramp(40, 8)},
       {"num_heads", 2},
       {"add_zero_attn", true}},
      // weighted_values above the limit: generated, from copies of the weights and V.
      {{"input", ramp(300, 16)}, {"num_heads", 2}},
  };
  for (const json& doc : docs) {
    INFO(doc.dump().substr(0, 80));
    const Spec spec = load_spec(doc.dump(), "m.json");
    const Trace trace = trace_attention(spec);
    const MemoryEstimate estimate = estimate_memory(spec);
    const double held = held_bytes(spec, trace);
    // The allowance for the program and the writer's buffers comes on top of the tensors.
    const double tensors = estimate.bytes - estimate.overhead;
    CHECK(tensors >= held);
    CHECK(tensors <= held * 1.25);
  }
}

TEST_CASE("the message names the largest part, whatever it is", "[memory]") {
  // Long sequences: the scores.
  const Spec long_sequence =
      load_spec(json{{"input", ramp(600, 4)}, {"num_heads", 4}}.dump(), "m.json");
  CHECK_THAT(estimate_memory(long_sequence).largest,
             Catch::StartsWith("scores, scaled and weights, 3 × 4 heads × 600 × 600 numbers: "));
  // Wide weights and two tokens: the weights.
  const json wide = {{"input", ramp(2, 512)}, {"weights", {{"in_proj_weight", ramp(1536, 512)}}}};
  CHECK_THAT(estimate_memory(load_spec(wide.dump(), "m.json")).largest,
             Catch::StartsWith("the weights: 6 MiB"));
}

TEST_CASE("sizes read the way people write them", "[memory]") {
  CHECK(parse_size("2GiB") == std::uint64_t{2} << 30);
  CHECK(parse_size("2 GiB") == std::uint64_t{2} << 30);
  CHECK(parse_size("512MiB") == std::uint64_t{512} << 20);
  CHECK(parse_size("512m") == std::uint64_t{512} << 20);
  CHECK(parse_size("1.5G") == std::uint64_t{3} << 29);
  CHECK(parse_size("4GB") == 4'000'000'000u);
  CHECK(parse_size("1000") == 1000u);
  CHECK(parse_size("1000B") == 1000u);
  CHECK_FALSE(parse_size("lots"));
  CHECK_FALSE(parse_size("-1GiB"));
  CHECK_FALSE(parse_size("2 GiBs"));
  CHECK_FALSE(parse_size("1e30"));
  CHECK(format_size(1.5 * (1 << 30)) == "1.5 GiB");
  CHECK(format_size(2.0 * (1 << 30)) == "2 GiB");
  CHECK(format_size(181.4 * (1 << 20)) == "181 MiB");
  CHECK(format_size(12) == "12 bytes");
}
