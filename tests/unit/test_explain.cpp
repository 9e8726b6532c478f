// explain: the arithmetic behind every number of a trace recombines to that number, and the
// tutorials' hand arithmetic is there term by term.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/text_width.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/explanation.hpp"
#include "attn_trace/teach/explain.hpp"
#include "golden.hpp"

using namespace attn_trace;
using Catch::Contains;
using json = nlohmann::json;

namespace {

Spec example_spec(std::string_view name) {
  return load_spec(find_example(name)->json, std::string(name));
}

Spec golden_spec(const std::string& name) {
  std::ifstream in(std::string(ATTN_TRACE_GOLDEN_DIR) + "/" + name + ".json");
  return load_spec(json::parse(in)["input"].dump(), name);
}

// The terms recombined by this test itself, not by the explainer.
double recombine(const Explanation& e) {
  double total = e.combine == Combine::product ? 1.0 : 0.0;
  for (const Term& t : e.terms) {
    if (e.combine == Combine::product) {
      total *= t.value;
    } else {
      total += t.value;
    }
  }
  switch (e.combine) {
    case Combine::given:
    case Combine::copy:
      REQUIRE(e.terms.size() == 1);
      return e.terms.front().value;
    case Combine::ratio:
      return e.terms.at(e.numerator).value / total;
    default:
      return total;
  }
}

bool close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= 1e-12 * std::abs(b) || std::abs(a - b) <= 1e-15;
}

// Every cell of every tensor of the trace, explained and recombined.
std::size_t check_every_cell(const Spec& spec) {
  const Trace trace = trace_attention(spec);
  std::size_t cells = 0;
  for (const Stage& stage : trace.stages) {
    for (const Tensor& tensor : stage.tensors) {
      const std::size_t size = tensor.size();
      for (std::size_t flat = 0; flat < size; ++flat) {
        CellRef cell{std::string(stage_name(stage.id)), tensor.name, {}};
        std::vector<std::size_t> index(tensor.rank());
        for (std::size_t a = tensor.rank(), rest = flat; a-- > 0;) {
          index[a] = rest % tensor.shape[a];
          rest /= tensor.shape[a];
        }
        for (std::size_t i : index) cell.index.push_back(std::to_string(i));
        const Explanation e = explain(spec, trace, cell);
        INFO(stage_name(stage.id) << "." << tensor.name << " at " << flat);
        const double traced = tensor.generated() ? e.result : tensor.data[flat];
        CHECK(close(e.result, traced));
        CHECK(close(recombine(e), traced));
        CHECK(explanation_matches(e));
        // The text fits the walkthrough's 80 columns.
        std::ostringstream text;
        render_explanation_text(e, 4, text);
        std::istringstream lines(text.str());
        for (std::string line; std::getline(lines, line);) CHECK(display_width(line) <= 80);
        for (const Term& t : e.terms) {
          if (e.combine == Combine::ratio) {
            CHECK(close(std::exp(t.factors.at(0)), t.value));
          } else if (t.factors.size() > 1) {
            double product = 1;
            for (double f : t.factors) product *= f;
            CHECK(close(product, t.value));
          }
        }
        ++cells;
      }
    }
  }
  return cells;
}

}  // namespace

TEST_CASE("every number of a trace is explained by terms that recombine to it", "[explain]") {
  SECTION("one head: I am good") {
    CHECK(check_every_cell(example_spec("i-am-good")) > 60);
  }
  SECTION("two heads and a mask: multihead") {
    CHECK(check_every_cell(example_spec("multihead")) > 300);
  }
  SECTION("cross-attention with a padding mask") {
    check_every_cell(example_spec("cross"));
  }
  SECTION("no weights at all: raschka-basic") {
    check_every_cell(example_spec("raschka-basic"));
  }
  SECTION("math layout: karim") {
    check_every_cell(example_spec("karim"));
  }
  SECTION("batched, two heads, causal") {
    check_every_cell(golden_spec("mask-causal-h2-batched"));
  }
  SECTION("every mask at once, batched") {
    check_every_cell(golden_spec("mask-combo-causal-kpm-batched-h2"));
  }
  SECTION("float attn_mask, per head") {
    check_every_cell(golden_spec("mask-attn-float-3d-batched-h2"));
  }
  SECTION("extra keys and S != L") {
    check_every_cell(golden_spec("cross-bias-kv-zero-attn-causal-batched-h2"));
  }
  SECTION("a fully blocked row is nan, and says why") {
    check_every_cell(golden_spec("mask-fully-blocked-row-h2"));
  }
  SECTION("cross-attention with kdim and vdim != E") {
    check_every_cell(golden_spec("cross-kdim-vdim-math-batched-h2"));
  }
  SECTION("scale 1/sqrt(E), a custom scale, no scale") {
    check_every_cell(golden_spec("h1-separate-math-embed-dim-scale"));
    check_every_cell(golden_spec("h4-plain-torch-numeric-scale"));
    check_every_cell(golden_spec("h1-plain-math-none-scale"));
  }
}

TEST_CASE("the default example's numbers, term by term, as on paper", "[explain]") {
  const Spec spec = example_spec("i-am-good");
  const Trace trace = trace_attention(spec);
  const auto at = [&](std::string_view text) { return explain(spec, trace, parse_cell(text)); };

  const Explanation q = at("Q[am,1]");  // X[am] = [0.9, 0.4]; W_q row 1 = [0.2, 0.8]; b_q[1] = −0.1
  CHECK(q.stage == StageId::projections);
  CHECK(q.combine == Combine::sum);
  REQUIRE(q.terms.size() == 3);
  CHECK(q.terms[0].label == "X[am,0]·W_q[1,0]");
  CHECK(q.terms[0].factors == std::vector<double>{0.9, 0.2});
  CHECK(q.terms[1].factors == std::vector<double>{0.4, 0.8});
  CHECK(q.terms[2].label == "b_q[1]");
  CHECK(q.terms[2].value == -0.1);
  CHECK(q.result == Approx(0.9 * 0.2 + 0.4 * 0.8 - 0.1));

  const Explanation s = at("scaled[I,good]");
  CHECK(s.combine == Combine::product);
  CHECK(s.terms[1].value == Approx(1 / std::sqrt(2.0)));
  CHECK_THAT(s.notes.at(0), Contains("1/√d = 1/√2 = 0.707107 here (d = 2)"));

  const Explanation w = at("weights[am,good]");
  CHECK(w.combine == Combine::ratio);
  CHECK(w.numerator == 2);
  REQUIRE(w.terms.size() == 3);
  CHECK(w.terms[2].value == 1.0);  // the row's largest: e^0

  const Explanation o = at("output[good,0]");
  CHECK(o.terms.back().label == "b_o[0]");
  CHECK(o.terms.back().value == 0.01);
}

TEST_CASE("heads, merged columns and masks say where their number came from", "[explain]") {
  const Spec spec = example_spec("multihead");
  const Trace trace = trace_attention(spec);
  const auto at = [&](std::string_view text) { return explain(spec, trace, parse_cell(text)); };

  const Explanation split = at("split_heads.Q[1,cat,2]");
  CHECK(split.combine == Combine::copy);
  CHECK(split.terms[0].label == "projections.Q[cat,5]");
  CHECK_THAT(split.notes.at(0), Contains("head 1 takes columns 3 to 5 of Q"));

  const Explanation merged = at("merge_heads.context[sat,4]");
  CHECK(merged.terms[0].label == "summation.context[1,sat,1]");

  const Explanation blocked = at("masked[0,the,down]");
  CHECK(std::isinf(blocked.result));
  CHECK_THAT(blocked.notes.at(0), Contains("blocked by mask"));
  const Explanation open = at("masked[0,down,the]");
  CHECK_THAT(open.notes.at(0), Contains("no mask blocks"));
}

TEST_CASE("cells that do not exist get a message that says what does", "[explain][errors]") {
  const Spec spec = example_spec("multihead");
  const Trace trace = trace_attention(spec);
  const auto fails = [&](std::string_view text, const std::string& part) {
    INFO(text);
    REQUIRE_THROWS_WITH(explain(spec, trace, parse_cell(text)), Contains(part));
  };
  fails("score[0,0,0]",
        "unknown tensor 'score' (did you mean 'scores'?); the tensors of this trace: X, Q, K, V");
  // Q is in two stages; the number of indices picks one: (L, D) of projections or (H, L, d).
  CHECK(explain(spec, trace, parse_cell("Q[0,0]")).stage == StageId::projections);
  CHECK(explain(spec, trace, parse_cell("Q[1,0,0]")).stage == StageId::split_heads);
  fails("Q[0]", "'Q' is in 2 stages: projections.Q (query 4 × feature 6), split_heads.Q");
  fails("scores[0,0]", "scores.scores has 3 indices (head 2 × query 4 × key 4), found 2");
  fails("scores[2,0,0]",
        "scores.scores: index 2 of the head axis is out of range: valid are 0 to 1");
  fails("scores[0,cat,dog]",
        "no key token 'dog' (did you mean 'down'?): valid are 0 to 3 (the, cat, sat, down)");
  fails("scores[0,0,x]", "no key token 'x'");
  fails("scores[0,-1,0]", "index -1 of the query axis is out of range: valid are 0 to 3");
  fails("scores[0,99999999999999999999,0]", "index 99999999999999999999 of the query axis is out");
  fails("split.Q[0,0,0]", "unknown stage 'split'");
  fails("scores[h,0,0]", "the head axis takes a number, found 'h'");
  REQUIRE_THROWS_WITH(parse_cell("scores"), Contains("expected an index in brackets at the end"));
  REQUIRE_THROWS_WITH(parse_cell("scores[0,,1]"), Contains("an empty index"));
  REQUIRE_THROWS_WITH(parse_cell("[0]"), Contains("no tensor name"));
  REQUIRE_THROWS_WITH(parse_cell("scores[0][1]"), Contains("one pair of brackets"));
  REQUIRE_THROWS_WITH(parse_cell(".scores[0,1]"), Contains("no stage name before the ."));
  CHECK(parse_cell("scores[\t0 ,\t1]").index == std::vector<std::string>{"0", "1"});
}

TEST_CASE("a token that stands twice must be given by its position", "[explain][errors]") {
  const Spec spec = load_spec(
      R"({"input": [[1, 0], [0, 1], [1, 1]], "tokens": ["the", "cat", "the"]})", "t.json");
  const Trace trace = trace_attention(spec);
  REQUIRE_THROWS_WITH(explain(spec, trace, parse_cell("scores[the,cat]")),
                      Contains("the query token 'the' stands at 0 and 2: give its position"));
  CHECK(explain(spec, trace, parse_cell("scores[2,cat]")).index == std::vector<std::size_t>{2, 1});
}

TEST_CASE("the explanation as text and as JSON", "[explain][render]") {
  const Spec spec = example_spec("i-am-good");
  const Trace trace = trace_attention(spec);
  const Explanation q = explain(spec, trace, parse_cell("projections.Q[am,1]"));
  std::ostringstream text;
  render_explanation_text(q, 4, text);
  CHECK(text.str() ==
        "projections.Q[am,1]\n"
        "  Q[i,c] = Σ_e X[i,e]·W_q[c,e] + b_q[c]\n"
        "  = X[am,0]·W_q[1,0] + X[am,1]·W_q[1,1] + b_q[1]\n"
        "  = 0.9×0.2 + 0.4×0.8 + (−0.1)\n"
        "  = 0.4\n"
        "  ✓ the trace holds the same number (0.4, equal to 12 digits)\n");

  std::ostringstream out;
  render_explanation_json(q, out);
  const json doc = json::parse(out.str());
  CHECK(doc["stage"] == "projections");
  CHECK(doc["tensor"] == "Q");
  CHECK(doc["index"] == json::array({1, 1}));
  CHECK(doc["terms"].size() == 3);
  CHECK(doc["terms"][0]["factors"] == json::array({0.9, 0.2}));
  CHECK(doc["result"].get<double>() == q.result);
  CHECK(doc["matches"] == true);

  const Spec masked = example_spec("multihead");
  const Trace masked_trace = trace_attention(masked);
  std::ostringstream blocked;
  render_explanation_json(explain(masked, masked_trace, parse_cell("masked[0,the,down]")), blocked);
  CHECK(json::parse(blocked.str())["result"] == "-inf");
}

TEST_CASE("more than 8 terms show the first and last few", "[explain][render]") {
  const Spec spec = example_spec("raschka-scaled");  // E = 16: 16 products per projection
  const Trace trace = trace_attention(spec);
  std::ostringstream text;
  render_explanation_text(explain(spec, trace, parse_cell("Q[me,1]")), 4, text);
  CHECK_THAT(text.str(), Contains("+ … +") && Contains("X[me,15]·W_q[1,15]"));
  CHECK_THAT(text.str(), !Contains("X[me,7]"));
}

TEST_CASE("a weighted value too large to hold is explained from its generated block", "[explain]") {
  // L = 130, E = 64, 2 heads: weighted_values holds 2·130·130·32 > 1,000,000 numbers, so the
  // tracer generates it block by block instead of holding it.
  json input = {{"num_heads", 2}};
  json rows = json::array();
  for (int i = 0; i < 130; ++i) {
    json row = json::array();
    for (int e = 0; e < 64; ++e) row.push_back(std::sin(0.37 * i + 0.11 * e));
    rows.push_back(row);
  }
  input["input"] = rows;
  const Spec spec = load_spec(input.dump(), "big.json");
  const Trace trace = trace_attention(spec);
  const Tensor* weighted = nullptr;
  for (const Tensor& t : trace.find_stage(StageId::weighted_values)->tensors) weighted = &t;
  REQUIRE(weighted->generated());
  const Explanation e = explain(spec, trace, parse_cell("weighted[1,129,77,31]"));
  // weights[h,i,j] × V_h[j,c], read here from the stored tensors.
  const Tensor& weights = trace.find_stage(StageId::softmax)->tensors.front();
  const Tensor& v = trace.find_stage(StageId::split_heads)->tensors.at(2);
  REQUIRE(v.name == "V");
  const double w = weights.data[(1 * 130 + 129) * 130 + 77];
  const double value = v.data[(1 * 130 + 77) * 32 + 31];
  CHECK(close(e.result, w * value));
  CHECK(close(recombine(e), w * value));
}

TEST_CASE("a fully blocked row says why its weights are nan", "[explain]") {
  const Spec spec = golden_spec("mask-fully-blocked-row-h2");
  const Trace trace = trace_attention(spec);
  const Tensor& weights = trace.find_stage(StageId::softmax)->tensors.front();
  std::size_t nan_at = weights.data.size();
  for (std::size_t k = 0; k < weights.data.size(); ++k) {
    if (std::isnan(weights.data[k])) nan_at = k;
  }
  REQUIRE(nan_at < weights.data.size());
  CellRef cell{"softmax", "weights", {}};
  for (std::size_t a = weights.rank(), rest = nan_at; a-- > 0;) {
    cell.index.insert(cell.index.begin(), std::to_string(rest % weights.shape[a]));
    rest /= weights.shape[a];
  }
  const Explanation e = explain(spec, trace, cell);
  REQUIRE(std::isnan(e.result));
  CHECK_THAT(e.notes.at(0), Contains("every key of this row is blocked") && Contains("nan"));
}

TEST_CASE("a mask of −1e9, as tutorials write −∞, blocks its key in explain too", "[explain]") {
  // The one rule for a blocked cell (an additive mask of −1e9 or less): the walkthrough shades
  // these cells as blocked, so explain must not say that no mask blocks them.
  const Spec spec = load_spec(R"({"input": [[1, 0], [0, 1], [1, 1]],
                                  "attn_mask": [[0, -1e9, -1e9], [0, 0, -1e9], [0, 0, 0]]})",
                              "m.json");
  const Trace trace = trace_attention(spec);
  const auto at = [&](std::string_view text) { return explain(spec, trace, parse_cell(text)); };
  const Explanation blocked = at("masked[0,1]");
  CHECK(blocked.result == Approx(-1e9));
  REQUIRE(blocked.notes.size() == 1);
  CHECK(blocked.notes[0] ==
        "blocked by attn_mask: -1e+09 counts as −∞ (−1e9 or less, as tutorials write it): exp of "
        "it is 0 beside any key that is not blocked, so this key gets no weight");
  const Explanation part = at("additive_mask[1,2]");
  CHECK_THAT(part.notes.back(), Contains("blocked by attn_mask: -1e+09 counts as −∞"));
  CHECK_THAT(at("masked[1,0]").notes.at(0), Contains("no mask blocks this key"));
  // A mask of −∞ keeps its own words.
  const Spec infinite =
      load_spec(R"({"input": [[1, 0], [0, 1]], "attn_mask": [[0, "-inf"], [0, 0]]})", "m.json");
  const Trace infinite_trace = trace_attention(infinite);
  CHECK_THAT(explain(infinite, infinite_trace, parse_cell("masked[0,1]")).notes.at(0),
             Contains("blocked by attn_mask: −∞, and exp(−∞) = 0 gives this key no weight"));
}

TEST_CASE("a position out of range says which positions are valid, as --focus does",
          "[explain][errors]") {
  // One query, one key: an axis of size 1 has one valid position.
  const Spec spec = load_spec(R"({"input": [[1, 0]], "tokens": ["solo"]})", "one.json");
  const Trace trace = trace_attention(spec);
  REQUIRE_THROWS_WITH(explain(spec, trace, parse_cell("scores[1,0]")),
                      "scores.scores: index 1 of the query axis is out of range: the only valid "
                      "one is 0 (solo)");
  REQUIRE_THROWS_WITH(explain(spec, trace, parse_cell("scores[0, 7]")),
                      Contains("index 7 of the key axis is out of range: the only valid one is 0"));
  CHECK(explain(spec, trace, parse_cell("scores[solo,0]")).index == std::vector<std::size_t>{0, 0});
}
