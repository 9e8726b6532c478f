// Partial traces (core/plan.hpp): whatever a plan computes — up to --until, only the stages shown
// and what they need, one focused slice, the rows a summarising walkthrough shows — every number
// it holds equals the whole trace's, bit for bit, and its stages carry the whole trace's words.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/memory.hpp"
#include "attn_trace/core/plan.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/text.hpp"

using namespace attn_trace;
using json = nlohmann::json;

namespace {

// Bit for bit, nan equal to nan.
bool same(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b));
}

// `part` (as a plan recorded it) holds exactly the numbers of `whole` (the whole trace's tensor,
// cut to the same focus): every row it holds, stored or generated.
void check_tensor(const Tensor& part, const Tensor& whole) {
  INFO("tensor " << part.name);
  REQUIRE(part.name == whole.name);
  REQUIRE(part.axes == whole.axes);
  REQUIRE(part.shape == whole.shape);
  REQUIRE(part.boolean == whole.boolean);
  for (std::size_t block = 0; block < part.block_count(); ++block) {
    const Matrix expected = whole.block_values(block);
    if (part.generated()) {
      // A generated tensor of partly held weights can make only the rows held.
      if (part.rank() >= 3) {
        const Matrix got = part.generate(block);
        REQUIRE(got.rows() == expected.rows());
        for (Index k = 0; k < got.size(); ++k) CHECK(same(got.data()[k], expected.data()[k]));
      }
      continue;
    }
    for (std::size_t r = 0; r < part.rows(); ++r) {
      if (!part.holds_row(r)) continue;
      const auto row = part.row_of(block, r);
      for (Index c = 0; c < row.cols(); ++c) {
        if (!same(row(0, c), expected(static_cast<Index>(r), c))) {
          FAIL_CHECK("block " << block << " row " << r << " col " << c << ": " << row(0, c)
                              << " vs " << expected(static_cast<Index>(r), c));
          return;
        }
      }
    }
  }
}

AxisKeep keep_of(const TraceSlice& slice) {
  AxisKeep keep;
  keep[static_cast<std::size_t>(Axis::batch)] = slice.batch;
  keep[static_cast<std::size_t>(Axis::head)] = slice.head;
  keep[static_cast<std::size_t>(Axis::query)] = slice.query;
  return keep;
}

// The weighted values of a summarising plan are generated from the weights' held rows only:
// compare the blocks of the queries held.
void check_weighted(const Tensor& part, const Tensor& whole, std::size_t queries,
                    const std::vector<std::size_t>& held) {
  for (std::size_t block = 0; block < part.block_count(); ++block) {
    if (std::find(held.begin(), held.end(), block % queries) == held.end()) continue;
    const Matrix got = part.block_values(block), expected = whole.block_values(block);
    for (Index k = 0; k < got.size(); ++k) CHECK(same(got.data()[k], expected.data()[k]));
  }
}

void check_plan(const Spec& spec, const Trace& whole, const TracePlan& plan) {
  const Trace part = trace_attention(spec, plan);
  REQUIRE(part.stages.size() == whole.stages.size());
  CHECK(part.skipped.size() == whole.skipped.size());
  const std::vector<StageId> computed = stages_computed(spec, plan);
  for (std::size_t s = 0; s < whole.stages.size(); ++s) {
    const Stage& p = part.stages[s];
    const Stage& w = whole.stages[s];
    INFO("stage " << stage_name(w.id));
    REQUIRE(p.id == w.id);
    CHECK(p.title == w.title);
    CHECK(p.formula == w.formula);
    CHECK(p.shapes == w.shapes);
    CHECK(p.note == w.note);
    const bool shown = plan.shown.shows(p.id) &&
                       std::find(computed.begin(), computed.end(), p.id) != computed.end();
    if (!shown) {
      CHECK(p.tensors.empty());
      continue;
    }
    REQUIRE(p.tensors.size() == w.tensors.size());
    for (std::size_t k = 0; k < p.tensors.size(); ++k) {
      const Tensor expected =
          plan.focus.any() ? cut_tensor(w.tensors[k], keep_of(plan.focus)) : w.tensors[k];
      if (p.id == StageId::weighted_values && expected.size() > plan.weighted_limit) {
        // Beyond --weighted-limit no renderer writes it: it is not made.
        CHECK(p.tensors[k].shape == expected.shape);
        CHECK(p.tensors[k].data.empty());
        CHECK_FALSE(p.tensors[k].generated());
        continue;
      }
      if (p.id == StageId::weighted_values && p.tensors[k].generated() && plan.summarising) {
        const std::size_t queries = p.tensors[k].shape[p.tensors[k].rank() - 3];
        const auto held =
            held_rows(plan, whole.stages[s].tensors[k].size() / spec.head_dim(), queries);
        if (held) {
          check_weighted(p.tensors[k], expected, queries, *held);
          continue;
        }
      }
      check_tensor(p.tensors[k], expected);
    }
  }
  if (plan.whole()) CHECK(part.warnings == whole.warnings);
}

// The plans every input is traced under: each --until, each single stage, focus slices, and
// summarising walkthroughs (with a low threshold, so that small inputs are summarised too).
std::vector<TracePlan> plans_for(const Spec& spec) {
  std::vector<TracePlan> plans;
  plans.push_back({});
  for (const StageInfo& info : all_stages()) {
    plans.push_back({.shown = {.only = {}, .until = info.id}});
    plans.push_back({.shown = {.only = {info.id}, .until = {}}});
  }
  const std::size_t L = static_cast<std::size_t>(spec.q_len());
  const std::size_t H = static_cast<std::size_t>(spec.num_heads);
  const std::size_t B = static_cast<std::size_t>(spec.batch_size());
  std::vector<TraceSlice> slices = {{.batch = {}, .head = {}, .query = L - 1},
                                    {.batch = {}, .head = {}, .query = 0}};
  if (H > 1) slices.push_back({.batch = {}, .head = H - 1, .query = {}});
  if (H > 1) slices.push_back({.batch = {}, .head = 0, .query = L / 2});
  if (spec.batched) slices.push_back({.batch = B - 1, .head = {}, .query = {}});
  if (spec.batched && H > 1) slices.push_back({.batch = B - 1, .head = 1, .query = L - 1});
  for (const TraceSlice& slice : slices) {
    plans.push_back({.focus = slice});
    plans.push_back({.shown = {.only = {}, .until = StageId::softmax}, .focus = slice});
    plans.push_back(
        {.shown = {.only = {StageId::scores, StageId::summation}, .until = {}}, .focus = slice});
  }
  plans.push_back({.weighted_limit = 0});
  plans.push_back({.focus = slices.front(), .weighted_limit = 0});
  const Summarising tight{.threshold = 4, .edge = 1, .summary_queries = 1};
  plans.push_back({.summarising = tight});
  plans.push_back({.summarising = walkthrough_summarising()});
  plans.push_back({.shown = {.only = {}, .until = StageId::masking}, .summarising = tight});
  plans.push_back(
      {.shown = {.only = {StageId::weighted_values}, .until = {}}, .summarising = tight});
  if (H > 1) {
    plans.push_back({.focus = {.batch = {}, .head = 1, .query = {}}, .summarising = tight});
  }
  return plans;
}

void check_every_plan(const Spec& spec) {
  const Trace whole = trace_attention(spec);
  for (const TracePlan& plan : plans_for(spec)) {
    INFO("until " << (plan.shown.until ? stage_name(*plan.shown.until) : "-") << ", only "
                  << plan.shown.only.size() << " stage(s), focus "
                  << (plan.focus.batch ? std::to_string(*plan.focus.batch) : "-") << "/"
                  << (plan.focus.head ? std::to_string(*plan.focus.head) : "-") << "/"
                  << (plan.focus.query ? std::to_string(*plan.focus.query) : "-")
                  << (plan.summarising ? ", summarising" : ""));
    check_plan(spec, whole, plan);
  }
}

// A long input: several tiles of queries (score_stages.hpp), two batches, two heads, a causal
// mask, and rows near the ends of tiles.
json long_input(int queries) {
  json x = json::array();
  for (int b = 0; b < 2; ++b) {
    json rows = json::array();
    for (int i = 0; i < queries; ++i) {
      json row = json::array();
      for (int k = 0; k < 4; ++k) row.push_back(std::sin(0.37 * (i + 1) * (k + 1) + b));
      rows.push_back(row);
    }
    x.push_back(rows);
  }
  json w = json::array();
  for (int r = 0; r < 12; ++r) {
    json row = json::array();
    for (int k = 0; k < 4; ++k) row.push_back(std::cos(0.21 * (r + 1) + 0.5 * k));
    w.push_back(row);
  }
  return {{"input", x}, {"num_heads", 2}, {"mask", "causal"}, {"weights", {{"in_proj_weight", w}}}};
}

}  // namespace

TEST_CASE("every plan holds the whole trace's numbers: the bundled examples", "[plan]") {
  for (const EmbeddedExample& example : embedded_examples()) {
    INFO("example " << example.name);
    check_every_plan(load_spec(example.json, std::string(example.name)));
  }
}

TEST_CASE("every plan holds the whole trace's numbers: the PyTorch goldens", "[plan]") {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ATTN_TRACE_GOLDEN_DIR)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const json g = json::parse(in);
    if (!g.contains("input")) continue;
    INFO(entry.path().filename().string());
    check_every_plan(load_spec(g["input"].dump(), "golden.json"));
    ++files;
  }
  CHECK(files > 40);
}

TEST_CASE("every plan holds the whole trace's numbers: several tiles of queries", "[plan]") {
  for (int queries : {63, 64, 65, 130}) {
    INFO(queries << " queries");
    check_every_plan(load_spec(long_input(queries).dump(), "long.json"));
  }
}

TEST_CASE("a plan computes only the stages shown and those they need", "[plan]") {
  const Spec spec = load_spec(long_input(10).dump(), "long.json");
  using enum StageId;
  const auto computed = [&](TracePlan plan) { return stages_computed(spec, plan); };
  CHECK(computed({}).size() == 10);  // every stage but extra_keys and out_proj
  CHECK(computed({.shown = {.only = {}, .until = scores}}) ==
        std::vector<StageId>{input, projections, split_heads, scores});
  CHECK(computed({.shown = {.only = {scores}, .until = {}}}) ==
        std::vector<StageId>{projections, split_heads, scores});
  CHECK(computed({.shown = {.only = {input}, .until = {}}}) == std::vector<StageId>{input});
  // Nothing reads weighted_values: the merged context needs every stage but it (and the input).
  CHECK(computed({.shown = {.only = {merge_heads}, .until = {}}}) ==
        std::vector<StageId>{projections, split_heads, scores, scaling, masking, softmax, summation,
                             merge_heads});
  // A stage this spec has not got computes nothing.
  CHECK(computed({.shown = {.only = {out_proj}, .until = {}}}).empty());
}

TEST_CASE("the memory estimate counts only what a plan computes and writes", "[plan][memory]") {
  json input = long_input(4);
  input["input"] = json::array({json::array()});
  for (int i = 0; i < 20000; ++i) input["input"][0].push_back({0.1 * i, 1, 2, 3});
  input.erase("mask");
  const Spec spec = load_spec(input.dump(), "long.json");
  const MemoryEstimate whole = estimate_memory(spec);
  const TracePlan until_scores{.shown = {.only = {StageId::scores}, .until = StageId::scores}};
  // --full: the two heads' 20000 × 20000 scores, once, and the text of one head's table, which
  // the walkthrough builds whole; never the JSON writer.
  const MemoryEstimate text = estimate_memory(spec, until_scores, Rendering::walkthrough);
  CHECK(text.largest.find("JSON") == std::string::npos);
  CHECK(text.largest.find("the walkthrough's text") != std::string::npos);
  const MemoryEstimate export_json = estimate_memory(spec, until_scores, Rendering::json);
  CHECK(export_json.largest.find("JSON writer") != std::string::npos);
  CHECK(export_json.bytes < whole.bytes);
  // The NumPy export has no text to build: the scores are the largest part.
  const MemoryEstimate npz = estimate_memory(spec, until_scores, Rendering::npz);
  CHECK(npz.largest.find("scores") != std::string::npos);
  CHECK(npz.bytes < whole.bytes / 2);
  TracePlan summarised = until_scores;
  summarised.summarising = walkthrough_summarising();
  const MemoryEstimate summary = estimate_memory(spec, summarised, Rendering::walkthrough);
  CHECK(summary.bytes < 100e6);
  const MemoryEstimate focused =
      estimate_memory(spec, {.focus = {.batch = {}, .head = {}, .query = 5}}, Rendering::json);
  CHECK(focused.bytes < 100e6);
}

TEST_CASE("a focused query makes its weighted values when the whole ones are over the limit",
          "[plan]") {
  // 200 × 200 × 32 = 1.28 million weighted values: over the default limit, but one query's
  // 6,400 are not, and --focus query=5 shows them.
  json input = json::array();
  for (int i = 0; i < 200; ++i) {
    json row = json::array();
    for (int k = 0; k < 32; ++k) row.push_back(std::sin(0.1 * i + 0.3 * k));
    input.push_back(row);
  }
  const Spec spec = load_spec(json{{"input", input}}.dump(), "wide.json");
  const Trace whole = trace_attention(spec);
  const TracePlan plan{.focus = {.batch = {}, .head = {}, .query = 5},
                       .weighted_limit = default_weighted_limit};
  const Trace part = trace_attention(spec, plan);
  const Tensor& weighted = part.find_stage(StageId::weighted_values)->tensors.at(0);
  REQUIRE(weighted.size() == 200u * 32u);
  REQUIRE((weighted.generated() || weighted.data.size() == weighted.size()));
  check_tensor(weighted, cut_tensor(whole.find_stage(StageId::weighted_values)->tensors[0],
                                    keep_of(plan.focus)));
}
