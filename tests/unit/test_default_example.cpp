// The bundled default example, "I am good", cell by cell. The projections are checked against
// arithmetic anyone can redo by hand from data/examples/i-am-good.json; the later stages against
// the numbers PyTorch gives for the same layer (tests/golden/i-am-good.json holds all of them).
#include <cmath>

#include <catch2/catch.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "golden.hpp"

using namespace attn_trace;

namespace {

Trace default_trace() {
  const auto example = find_example(default_example);
  REQUIRE(example.has_value());
  return trace_attention(load_spec(example->json, "i-am-good"));
}

void check_cells(const Trace& trace, const std::string& stage_id, const std::string& name,
                 std::vector<std::size_t> shape, std::vector<double> expected) {
  INFO(stage_id << "." << name);
  const Stage* stage = golden::find_stage(trace, stage_id);
  REQUIRE(stage != nullptr);
  const Tensor* tensor = nullptr;
  for (const Tensor& t : stage->tensors) {
    if (t.name == name) tensor = &t;
  }
  REQUIRE(tensor != nullptr);
  REQUIRE(tensor->shape == shape);
  REQUIRE(tensor->data.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("cell " << i);
    CHECK(tensor->data[i] == Approx(expected[i]).epsilon(1e-12).margin(1e-15));
  }
}

}  // namespace

TEST_CASE("the default example, stage by stage", "[example]") {
  const Trace trace = default_trace();
  CHECK(trace.name == "I am good");
  CHECK(trace.tokens == std::vector<std::vector<std::string>>{{"I", "am", "good"}});

  std::vector<std::string> ids;
  for (const Stage& s : trace.stages) ids.emplace_back(stage_name(s.id));
  CHECK(ids == std::vector<std::string>{"input", "projections", "scores", "scaling", "softmax",
                                        "weighted_values", "summation", "out_proj"});

  check_cells(trace, "input", "X", {3, 2}, {0.2, 0.1, 0.9, 0.4, 0.7, 0.8});
  // Q = X·W_qᵀ + b_q with W_q = [[0.5, −0.3], [0.2, 0.8]], b_q = [0.1, −0.1].
  check_cells(trace, "projections", "Q", {3, 2},
              {0.2 * 0.5 + 0.1 * -0.3 + 0.1, 0.2 * 0.2 + 0.1 * 0.8 - 0.1,    // I:    0.17, 0.02
               0.9 * 0.5 + 0.4 * -0.3 + 0.1, 0.9 * 0.2 + 0.4 * 0.8 - 0.1,    // am:   0.43, 0.40
               0.7 * 0.5 + 0.8 * -0.3 + 0.1, 0.7 * 0.2 + 0.8 * 0.8 - 0.1});  // good: 0.21, 0.68
  // K: W_k = [[0.4, 0.1], [−0.6, 0.7]], b_k = [0.0, 0.2].
  check_cells(trace, "projections", "K", {3, 2}, {0.09, 0.15, 0.40, -0.06, 0.36, 0.34});
  // V: W_v = [[0.9, 0.2], [−0.1, 0.5]], b_v = [0.05, −0.05].
  check_cells(trace, "projections", "V", {3, 2}, {0.25, -0.02, 0.94, 0.06, 0.84, 0.28});
  // scores[i,j] = Q[i]·K[j], e.g. scores[I,I] = 0.17×0.09 + 0.02×0.15 = 0.0183.
  check_cells(trace, "scores", "scores", {3, 3},
              {0.17 * 0.09 + 0.02 * 0.15, 0.17 * 0.40 + 0.02 * -0.06, 0.17 * 0.36 + 0.02 * 0.34,
               0.43 * 0.09 + 0.40 * 0.15, 0.43 * 0.40 + 0.40 * -0.06, 0.43 * 0.36 + 0.40 * 0.34,
               0.21 * 0.09 + 0.68 * 0.15, 0.21 * 0.40 + 0.68 * -0.06, 0.21 * 0.36 + 0.68 * 0.34});
  const double r = 1 / std::sqrt(2.0);  // d = E/H = 2
  check_cells(trace, "scaling", "scaled", {3, 3},
              {0.0183 * r, 0.0668 * r, 0.068 * r, 0.0987 * r, 0.148 * r, 0.2908 * r, 0.1209 * r,
               0.0432 * r, 0.3068 * r});
  // From here on, PyTorch's numbers for this layer.
  check_cells(trace, "softmax", "weights", {3, 3},
              {0.32566314671534013, 0.3370253782023844, 0.3373114750822755, 0.31436969166555767,
               0.3255219908774366, 0.36010831745700583, 0.3239367852133748, 0.3066190791018739,
               0.3694441356847513});
  // weighted[i,j,:] = weights[i,j]·V[j,:]: the first block is query "I".
  check_cells(trace, "weighted_values", "weighted", {3, 3, 2},
              {0.32566314671534013 * 0.25, 0.32566314671534013 * -0.02, 0.3370253782023844 * 0.94,
               0.3370253782023844 * 0.06, 0.3373114750822755 * 0.84, 0.3373114750822755 * 0.28,
               0.07859242291638942, -0.006287393833311155, 0.3059906714247905, 0.019531319452646197,
               0.3024909866638849, 0.10083032888796165, 0.0809841963033437, -0.006478735704267498,
               0.28822193435576154, 0.018397144746112433, 0.3103330739751911, 0.10344435799173038});
  check_cells(trace, "summation", "context", {3, 2},
              {0.6815612812581878, 0.1081554727808734, 0.6870740810050648, 0.11407425450729669,
               0.6795392046342963, 0.11536276703357531});
  // output = context·W_oᵀ + b_o with W_o = [[0.6, −0.4], [0.3, 0.7]], b_o = [0.01, −0.02].
  check_cells(trace, "out_proj", "output", {3, 2},
              {0.37567457964256334, 0.2601772153240677, 0.3766147468001202, 0.2659742024566271,
               0.37157841596714763, 0.2646156983137916});
  CHECK(0.6815612812581878 * 0.6 + 0.1081554727808734 * -0.4 + 0.01 ==
        Approx(0.37567457964256334).epsilon(1e-12));
}

TEST_CASE("every row of the attention weights sums to 1", "[example]") {
  const Trace trace = default_trace();
  const Tensor& weights = trace.find_stage(StageId::softmax)->tensors.at(0);
  const auto m = weights.block(0);
  for (Index i = 0; i < m.rows(); ++i) CHECK(m.row(i).sum() == Approx(1.0).epsilon(1e-15));
}

TEST_CASE("stages a trace leaves out are listed with the reason", "[example]") {
  const Trace trace = default_trace();
  REQUIRE(trace.skipped.size() == 4);
  CHECK(trace.skipped[0].id == StageId::extra_keys);
  CHECK(trace.skipped[1].id == StageId::split_heads);
  CHECK(trace.skipped[1].reason == "it exists only with num_heads > 1");
  CHECK(trace.skipped[2].id == StageId::masking);
  CHECK(trace.skipped[2].reason == "no mask was given (mask, attn_mask or key_padding_mask)");
  CHECK(trace.skipped[3].id == StageId::merge_heads);
  CHECK(trace.stages.size() + trace.skipped.size() == all_stages().size());
  CHECK(trace.warnings.empty());
}

TEST_CASE("a large weighted_values is generated block by block, with the same numbers", "[scale]") {
  // Two heads, L = 100, E = 250: weighted is 2 × 100 × 100 × 125 = 2.5 million numbers.
  Spec spec;
  Matrix x(100, 250);
  for (Index i = 0; i < x.rows(); ++i) {
    for (Index j = 0; j < x.cols(); ++j) x(i, j) = std::sin(0.37 * static_cast<double>(i * 7 + j));
  }
  spec.inputs = {x};
  spec.tokens = {std::vector<std::string>(100, "t")};
  spec.num_heads = 2;
  const Trace trace = trace_attention(spec);
  const Tensor& weighted = trace.find_stage(StageId::weighted_values)->tensors.at(0);
  REQUIRE(weighted.generated());
  CHECK(weighted.data.empty());
  CHECK(weighted.size() == 2u * 100 * 100 * 125);
  const Tensor& weights = trace.find_stage(StageId::softmax)->tensors.at(0);
  const Tensor& V = trace.find_stage(StageId::split_heads)->tensors.at(2);
  const Tensor& context = trace.find_stage(StageId::summation)->tensors.at(0);
  for (std::size_t head : {0u, 1u}) {
    for (Index i : {0, 57, 99}) {
      const Matrix block = weighted.block_values(head * 100 + static_cast<std::size_t>(i));
      const Matrix expected = weights.block(head).row(i).transpose().asDiagonal() * V.block(head);
      CHECK(block == expected);
      const Matrix context_row = context.block(head).row(i);
      CHECK(context_row.isApprox(weights.block(head).row(i) * V.block(head), 1e-13));
    }
  }
}
