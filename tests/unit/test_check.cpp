// attn-trace check's engine (teach/check.hpp and its private replay and mistakes): the replay
// recomputes every tensor of every golden trace exactly; names, shapes and the tolerance are read
// as docs/check.md says; and on the tutorial examples, hand-made wrong tensors are found where
// they go wrong, with what follows from them. The catalogue's every mistake is tested through the
// binary on files a buggy NumPy implementation wrote (tests/check/, tools/make_check_cases.py).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/teach/check.hpp"
#include "golden.hpp"
#include "replay.hpp"

using namespace attn_trace;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
const double nan_value = std::numeric_limits<double>::quiet_NaN();

Spec example(std::string_view name) {
  const auto found = find_example(name);
  REQUIRE(found.has_value());
  return load_spec(found->json, std::string(name));
}

const Tensor& tensor_of(const Trace& trace, StageId stage, std::string_view name) {
  const Stage* s = trace.find_stage(stage);
  REQUIRE(s != nullptr);
  for (const Tensor& t : s->tensors) {
    if (t.name == name) return t;
  }
  FAIL("no tensor " << name);
  throw 0;
}

GivenTensor given(std::string name, const Tensor& t) {
  return {std::move(name), t.shape, t.data};
}

CheckReport check(const Spec& spec, const Trace& trace, std::vector<GivenTensor> tensors) {
  return check_tensors(spec, trace, GivenTensors{"mine.json", false, std::move(tensors)},
                       {.tolerance = {}, .input = "example"});
}

std::string error_of(const Spec& spec, const Trace& trace, std::vector<GivenTensor> tensors) {
  try {
    (void)check(spec, trace, std::move(tensors));
  } catch (const Error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "no error";
}

// softmax over each row, written out here rather than taken from the library.
std::vector<double> softmax_rows_by_hand(const std::vector<double>& x, std::size_t cols) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size() / cols; ++r) {
    double m = -inf, sum = 0;
    for (std::size_t c = 0; c < cols; ++c) m = std::max(m, x[r * cols + c]);
    for (std::size_t c = 0; c < cols; ++c) sum += std::exp(x[r * cols + c] - m);
    for (std::size_t c = 0; c < cols; ++c) y[r * cols + c] = std::exp(x[r * cols + c] - m) / sum;
  }
  return y;
}

}  // namespace

TEST_CASE("check: the replay recomputes every tensor of every golden trace exactly", "[check]") {
  std::size_t traces = 0, nodes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ATTN_TRACE_GOLDEN_DIR)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const nlohmann::json golden = nlohmann::json::parse(in);
    const Spec spec = load_spec(golden["input"].dump(), entry.path().string());
    const Trace trace = trace_attention(spec);
    replay::Flow flow(spec, trace);
    for (std::size_t i = 1; i < replay::node_count; ++i) {
      const auto node = static_cast<replay::Node>(i);
      if (!flow.has(node)) continue;
      INFO(entry.path().filename().string() << " node " << replay::place_of(node).tensor);
      const replay::Place place = replay::place_of(node);
      const Tensor& traced = tensor_of(trace, place.stage, place.tensor);
      const std::vector<double> replayed = replay::flatten(replay::compute(node, flow));
      REQUIRE(replayed.size() == traced.data.size());
      for (std::size_t k = 0; k < replayed.size(); ++k) {
        const bool same =
            std::isnan(traced.data[k]) ? std::isnan(replayed[k]) : replayed[k] == traced.data[k];
        if (!same) FAIL("element " << k << ": " << replayed[k] << " vs " << traced.data[k]);
      }
      ++nodes;
    }
    ++traces;
  }
  CHECK(traces >= 50);
  CHECK(nodes >= 500);
}

TEST_CASE("check: the trace's own tensors match, under every name learners use", "[check]") {
  const Spec spec = example("multihead");  // 2 heads, a 0/1 causal mask, out_proj
  const Trace trace = trace_attention(spec);
  const CheckReport report =
      check(spec, trace,
            {given("attn_output", tensor_of(trace, StageId::out_proj, "output")),
             given("p_attn", tensor_of(trace, StageId::softmax, "weights")),
             given("Q", tensor_of(trace, StageId::projections, "Q")),
             given("split_heads.K", tensor_of(trace, StageId::split_heads, "K")),
             given("ATTN_SCORES", tensor_of(trace, StageId::scores, "scores")),
             given("masked_scores", tensor_of(trace, StageId::masking, "masked")),
             given("concat", tensor_of(trace, StageId::merge_heads, "context"))});
  REQUIRE(report.match());
  CHECK(report.diagnosis.empty());
  // In paper order, whatever the file's order.
  std::vector<std::string> order;
  for (const TensorCheck& t : report.tensors) order.push_back(t.given_name);
  CHECK(order == std::vector<std::string>{"Q", "split_heads.K", "ATTN_SCORES", "masked_scores",
                                          "p_attn", "concat", "attn_output"});
  CHECK(report.tensors[3].stage == StageId::masking);
  CHECK(report.tensors[5].stage == StageId::merge_heads);
}

TEST_CASE("check: shapes with axes of size 1, and the (L, H, d) view of Q", "[check]") {
  const Spec spec = example("multihead");
  const Trace trace = trace_attention(spec);
  const Tensor& weights = tensor_of(trace, StageId::softmax, "weights");  // (2, 4, 4)
  GivenTensor batch_of_one = given("attn_weights", weights);
  batch_of_one.shape = {1, 2, 4, 4};
  const Tensor& q = tensor_of(trace, StageId::projections, "Q");  // (4, 6)
  GivenTensor heads_view = given("q", q);
  heads_view.shape = {1, 4, 2, 3};  // q.view(B, L, H, d), before the transpose
  const Tensor& q_heads = tensor_of(trace, StageId::split_heads, "Q");  // (2, 4, 3)
  GivenTensor heads_first = given("k_heads", tensor_of(trace, StageId::split_heads, "K"));
  heads_first.shape = {1, 2, 4, 3};
  const CheckReport report = check(spec, trace, {batch_of_one, heads_view, heads_first});
  REQUIRE(report.match());
  CHECK(report.tensors[0].stage == StageId::projections);
  CHECK(report.tensors[1].stage == StageId::split_heads);
  CHECK(report.tensors[0].shape == q.shape);
  // An unqualified Q in the heads' shape is split_heads.Q.
  GivenTensor q_as_heads = given("q", q_heads);
  CHECK(check(spec, trace, {q_as_heads}).tensors[0].stage == StageId::split_heads);
}

TEST_CASE("check: names and shapes that are not the trace's are refused clearly", "[check]") {
  const Spec spec = example("multihead");
  const Trace trace = trace_attention(spec);
  const Tensor& weights = tensor_of(trace, StageId::softmax, "weights");
  CHECK_THAT(error_of(spec, trace, {given("attn_wieghts", weights)}),
             Catch::Contains("mine.json: attn_wieghts: no tensor of the trace has this name") &&
                 Catch::Contains("did you mean attn_weights?"));
  GivenTensor wrong = given("attn_weights", weights);
  wrong.shape = {4, 8};
  CHECK_THAT(error_of(spec, trace, {wrong}),
             Catch::Contains("attn_weights: expected the shape of softmax.weights (2, 4, 4) "
                             "(head, query, key), found (4, 8)"));
  const Tensor& q = tensor_of(trace, StageId::projections, "Q");  // (4, 6)
  GivenTensor transposed = given("q", q);
  transposed.shape = {6, 4};
  CHECK_THAT(error_of(spec, trace, {transposed}), Catch::Contains("it looks transposed"));
  CHECK_THAT(error_of(spec, trace, {given("probs", weights), given("attn_weights", weights)}),
             Catch::Contains("probs and attn_weights are both the trace's softmax.weights"));
  CHECK_THAT(error_of(spec, trace, {given("sofmax.weights", weights)}),
             Catch::Contains("there is no stage sofmax") && Catch::Contains("softmax.weights"));
  // karim has no mask: no masked scores to compare.
  const Spec one_head = example("karim");
  const Trace plain = trace_attention(one_head);
  CHECK_THAT(
      error_of(one_head, plain, {given("masked", tensor_of(plain, StageId::scaling, "scaled"))}),
      Catch::Contains("this trace has no masking stage"));
}

TEST_CASE("check: the tolerance accepts float32 rounding, and −∞ and nan only as such", "[check]") {
  const Spec spec = example("multihead");
  const Trace trace = trace_attention(spec);
  const Tensor& masked = tensor_of(trace, StageId::masking, "masked");
  GivenTensor as_float = given("masked", masked);
  for (double& v : as_float.values) v = static_cast<double>(static_cast<float>(v));
  CHECK(check(spec, trace, {as_float}).match());

  GivenTensor finite = given("masked", masked);
  const auto blocked = std::find(finite.values.begin(), finite.values.end(), -inf);
  REQUIRE(blocked != finite.values.end());
  *blocked = -1e9;
  const CheckReport report = check(spec, trace, {finite});
  REQUIRE_FALSE(report.match());
  CHECK(report.tensors[0].cells_differ == 1);
  REQUIRE(report.tensors[0].worst.size() == 1);
  CHECK(report.tensors[0].worst[0].yours == -1e9);
  CHECK(report.tensors[0].worst[0].expected == -inf);

  CHECK(agree(nan_value, nan_value, {}));
  CHECK_FALSE(agree(nan_value, 0.0, {}));
  CHECK_FALSE(agree(0.0, nan_value, {}));
  CHECK(agree(-inf, -inf, {}));
  CHECK_FALSE(agree(inf, -inf, {}));
  CHECK(agree(1.00009, 1.0, {}));        // within rtol 1e-4
  CHECK_FALSE(agree(1.00011, 1.0, {}));  // not
  CHECK(agree(9e-7, 0.0, {}));           // within atol 1e-6
  CHECK_FALSE(agree(1.1e-6, 0.0, {}));
  // In a tensor whose numbers are about 1, a number near 0 may be off by rtol·rms more: a sum of
  // products of about 1, rounded in float32.
  const std::vector<double> scores = {1.0, -1.0, 1.0, -1.0, 0.0196};
  const std::span<const double> parts[] = {scores};
  const double rms = finite_rms(parts);
  CHECK(rms == Approx(std::sqrt((4 + 0.0196 * 0.0196) / 5)));
  const Tolerance scaled = for_tensor({}, rms);
  CHECK(scaled.atol == Approx(1e-6 + 1e-4 * rms));
  CHECK_FALSE(agree(0.0196 + 3.5e-6, 0.0196, {}));
  CHECK(agree(0.0196 + 3.5e-6, 0.0196, scaled));
  CHECK_FALSE(agree(0.0196 + 2e-4, 0.0196, scaled));
  const std::vector<double> with_blocked = {-inf, nan_value, 2.0};
  const std::span<const double> only_finite[] = {with_blocked};
  CHECK(finite_rms(only_finite) == 2.0);
}

TEST_CASE(
    "check: the tutorial example scaled by nothing — the first difference, what follows, "
    "and why",
    "[check]") {
  const Spec spec = example("i-am-good");  // one head, scaled by 1/√d
  const Trace trace = trace_attention(spec);
  const Tensor& scores = tensor_of(trace, StageId::scores, "scores");
  // The learner forgot to scale: their "scaled" is the scores, and their weights its softmax.
  GivenTensor scaled{"scaled_scores", scores.shape, scores.data};
  GivenTensor weights{"attn_weights", scores.shape,
                      softmax_rows_by_hand(scores.data, scores.cols())};
  const CheckReport report = check(spec, trace,
                                   {given("q", tensor_of(trace, StageId::projections, "Q")),
                                    given("attn_scores", scores), scaled, weights});
  REQUIRE(report.first_difference == std::size_t{2});
  CHECK(report.tensors[0].match());
  CHECK(report.tensors[1].match());
  CHECK_FALSE(report.tensors[2].match());
  CHECK(report.tensors[2].cells_differ == 9);  // every cell: the 3×3 scores are all nonzero
  CHECK(report.tensors[2].follows_from.empty());
  CHECK_FALSE(report.tensors[3].match());
  CHECK(report.tensors[3].follows_from == std::vector<std::size_t>{2});
  REQUIRE_FALSE(report.diagnosis.empty());
  CHECK(report.diagnosis[0].id == "scale_missing");
  CHECK(report.diagnosis[0].stage == StageId::scaling);
  CHECK(report.diagnosis.size() == 1);
}

TEST_CASE("check: a wrong tensor that does not follow from the learner's own earlier one",
          "[check]") {
  const Spec spec = example("karim");
  const Trace trace = trace_attention(spec);
  const Tensor& scaled = tensor_of(trace, StageId::scaling, "scaled");
  const Tensor& weights = tensor_of(trace, StageId::softmax, "weights");
  GivenTensor wrong_scaled = given("scaled", scaled);
  wrong_scaled.values[0] += 1.0;  // one cell off: no mistake of the catalogue does that
  GivenTensor wrong_weights = given("weights", weights);
  wrong_weights.values[1] += 0.5;  // and the weights wrong in another way
  const CheckReport report = check(spec, trace, {wrong_scaled, wrong_weights});
  REQUIRE(report.first_difference == std::size_t{0});
  CHECK(report.tensors[0].cells_differ == 1);
  CHECK(report.tensors[1].follows_from.empty());
  CHECK(report.diagnosis.empty());
}

TEST_CASE("check: the catalogue lists sixteen stable ids", "[check]") {
  const auto ids = mistake_catalogue();
  CHECK(ids.size() == 16);
  for (std::string_view id :
       {"scale_sqrt_embed", "scale_missing", "scale_by_d", "softmax_wrong_axis", "qkv_order",
        "weights_transposed", "bias_missing", "mask_inverted", "causal_off_by_one",
        "mask_after_softmax", "mask_not_infinite", "heads_interleaved", "heads_merge_order",
        "out_proj_missing", "softmax_overflow", "context_wrong_axis"}) {
    CHECK(std::find(ids.begin(), ids.end(), id) != ids.end());
  }
}

TEST_CASE("check: scores saved after scaling in one line are compared as the scaled scores",
          "[check]") {
  const Spec spec = example("multihead");  // 2 heads, d = 3, a causal 0/1 mask
  const Trace trace = trace_attention(spec);
  const Tensor& scaled = tensor_of(trace, StageId::scaling, "scaled");
  const Tensor& masked = tensor_of(trace, StageId::masking, "masked");
  // scores = q @ k.T / sqrt(d), saved as attn_scores: no mistake, a name.
  CheckReport report = check(spec, trace, {given("attn_scores", scaled)});
  REQUIRE(report.match());
  CHECK(report.tensors[0].stage == StageId::scaling);
  REQUIRE(report.notes.size() == 1);
  CHECK_THAT(report.notes[0], Catch::Contains("Your attn_scores are the scaled scores") &&
                                  Catch::Contains("scaling.scaled"));
  // Scaled and masked in one line.
  report = check(spec, trace, {given("scores", masked)});
  REQUIRE(report.match());
  CHECK(report.tensors[0].stage == StageId::masking);
  // Not when the scaled scores are given too: then these scores are simply wrong.
  report = check(spec, trace, {given("scores", scaled), given("scaled", scaled)});
  REQUIRE_FALSE(report.match());
  CHECK(report.tensors[0].stage == StageId::scores);
  CHECK(report.tensors[0].same_as == std::string("scaling.scaled"));
  CHECK(report.notes.empty());
}

TEST_CASE("check: a mask of −1e9 (The Annotated Transformer's) is named, and harmless here",
          "[check]") {
  const Spec spec = example("multihead");
  const Trace trace = trace_attention(spec);
  GivenTensor masked = given("masked_scores", tensor_of(trace, StageId::masking, "masked"));
  std::size_t blocked = 0;
  for (double& v : masked.values) {
    if (v == -inf) v = -1e9, ++blocked;
  }
  REQUIRE(blocked == 12);  // the causal mask of 4 tokens, in each of 2 heads
  const CheckReport report = check(
      spec, trace, {masked, given("attn_weights", tensor_of(trace, StageId::softmax, "weights"))});
  REQUIRE(report.first_difference == std::size_t{0});
  CHECK(report.tensors[0].cells_differ == 12);
  CHECK(report.tensors[1].match());
  REQUIRE(report.diagnosis.size() == 1);
  CHECK(report.diagnosis[0].id == "mask_not_infinite");
  CHECK_THAT(report.diagnosis[0].text, Catch::Contains("set to −1e9 instead of −∞") &&
                                           Catch::Contains("the weights can come out right"));
}

namespace {

// The softmax of each row of every (rows × cols) block, the blocked cells (−∞) weighted 0.
std::vector<double> softmax_blocks(std::vector<double> x, std::size_t cols) {
  return softmax_rows_by_hand(std::move(x), cols);
}

}  // namespace

TEST_CASE("check: found in review — each reproduced, then fixed", "[check]") {
  const Spec spec = example("multihead");  // 2 heads, d = 3, E = 6, a causal 0/1 mask
  const Trace trace = trace_attention(spec);
  const Tensor& scores = tensor_of(trace, StageId::scores, "scores");
  const Tensor& scaled = tensor_of(trace, StageId::scaling, "scaled");
  const Tensor& masked = tensor_of(trace, StageId::masking, "masked");
  const Tensor& weights = tensor_of(trace, StageId::softmax, "weights");

  SECTION("mask_after_softmax is found when the masked scores given are right") {
    std::vector<double> w = softmax_blocks(scaled.data, scaled.cols());
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (masked.data[i] == -inf) w[i] = 0;
    }
    const CheckReport report =
        check(spec, trace,
              {given("masked_scores", masked), GivenTensor{"attn_weights", weights.shape, w}});
    REQUIRE(report.first_difference == std::size_t{1});
    REQUIRE_FALSE(report.diagnosis.empty());
    CHECK(report.diagnosis[0].id == "mask_after_softmax");
    CHECK(report.diagnosis[0].tensor == 1);
  }
  SECTION("scores scaled by 1/√E in one line, saved as scores: scale_sqrt_embed") {
    std::vector<double> wrong = scores.data;
    for (double& v : wrong) v /= std::sqrt(6.0);
    const CheckReport report =
        check(spec, trace, {GivenTensor{"attn_scores", scores.shape, wrong}});
    REQUIRE_FALSE(report.match());
    REQUIRE_FALSE(report.diagnosis.empty());
    CHECK(report.diagnosis[0].id == "scale_sqrt_embed");
    REQUIRE(report.notes.size() == 1);
    CHECK_THAT(report.notes[0], Catch::Contains("read as the scaled scores"));
  }
  SECTION("a wrong mask given first does not stop the diagnosis of the weights") {
    const Tensor& mask = tensor_of(trace, StageId::masking, "mask");
    std::vector<double> inverted = mask.data;
    for (double& v : inverted) v = 1 - v;
    std::vector<double> unscaled = scores.data;
    for (std::size_t i = 0; i < unscaled.size(); ++i) {
      if (masked.data[i] == -inf) unscaled[i] = -inf;
    }
    const CheckReport report = check(
        spec, trace,
        {GivenTensor{"mask", mask.shape, inverted},
         GivenTensor{"attn_weights", weights.shape, softmax_blocks(unscaled, weights.cols())}});
    REQUIRE(report.first_difference == std::size_t{0});
    REQUIRE_FALSE(report.diagnosis.empty());
    CHECK(report.diagnosis[0].id == "scale_missing");
    CHECK(report.diagnosis[0].tensor == 1);
  }
  SECTION("a later tensor follows from the wrong tensors it is computed from") {
    GivenTensor q = given("q", tensor_of(trace, StageId::projections, "Q"));
    q.values[0] += 1;
    GivenTensor s = given("attn_scores", scores);
    s.values[5] += 1;  // wrong on its own
    std::vector<double> from_s = s.values;
    for (double& v : from_s) v /= std::sqrt(3.0);
    for (std::size_t i = 0; i < from_s.size(); ++i) {
      if (masked.data[i] == -inf) from_s[i] = -inf;
    }
    const CheckReport report = check(
        spec, trace, {q, s, GivenTensor{"attn_weights", weights.shape, softmax_blocks(from_s, 4)}});
    REQUIRE(report.first_difference == std::size_t{0});
    CHECK(report.tensors[1].follows_from.empty());  // wrong on its own
    // The weights are the softmax of the learner's own wrong scores: they follow from those,
    // not from q.
    CHECK(report.tensors[2].follows_from == std::vector<std::size_t>{1});
  }
  SECTION("a mask's −1e9 does not widen the tolerance") {
    const std::vector<double> with_fill = {-1e9 + 0.5, 1.0, -1.0, -1e9};
    const std::span<const double> parts[] = {with_fill};
    CHECK(finite_rms(parts) == 1.0);
  }
}

TEST_CASE("check: with one head, the heads' names are Q, K, V and the context", "[check]") {
  const Spec spec = example("i-am-good");
  const Trace trace = trace_attention(spec);
  GivenTensor q = given("q_heads", tensor_of(trace, StageId::projections, "Q"));
  q.shape.insert(q.shape.begin(), 1);  // (1, L, d)
  const CheckReport report =
      check(spec, trace, {q, given("merged", tensor_of(trace, StageId::summation, "context"))});
  REQUIRE(report.match());
  CHECK(report.tensors[0].stage == StageId::projections);
  CHECK(report.tensors[1].stage == StageId::summation);
}
