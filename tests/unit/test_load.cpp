// The loader: every input convention lands in the same canonical Spec, and every mistake gets a
// message naming the file, the JSON path, what was expected and what was found.
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/input/load.hpp"

using namespace attn_trace;
using Catch::Contains;
using json = nlohmann::json;

namespace {

// The default example's weights in torch layout.
const json packed_weight =
    json::parse("[[0.5,-0.3],[0.2,0.8],[0.4,0.1],[-0.6,0.7],[0.9,0.2],[-0.1,0.5]]");
const json packed_bias = json::parse("[0.1,-0.1,0.0,0.2,0.05,-0.05]");

json base() {
  return json{{"input", json::parse("[[0.2,0.1],[0.9,0.4],[0.7,0.8]]")}};
}

Spec load(const json& doc) {
  return load_spec(doc.dump(), "ex.json");
}

json transpose(const json& m) {
  json t = json::array();
  for (std::size_t j = 0; j < m[0].size(); ++j) {
    json row = json::array();
    for (std::size_t i = 0; i < m.size(); ++i) row.push_back(m[i][j]);
    t.push_back(row);
  }
  return t;
}

json slice_rows(const json& m, std::size_t first, std::size_t count) {
  json out = json::array();
  for (std::size_t i = first; i < first + count; ++i) out.push_back(m[i]);
  return out;
}

json slice(const json& v, std::size_t first, std::size_t count) {
  json out = json::array();
  for (std::size_t i = first; i < first + count; ++i) out.push_back(v[i]);
  return out;
}

json packed_doc_without_bias() {
  json doc = base();
  doc["weights"] = {{"in_proj_weight", packed_weight}};
  return doc;
}

void require_same_projections(const Spec& a, const Spec& b) {
  REQUIRE(a.learned_projections());
  REQUIRE(b.learned_projections());
  CHECK(a.q_proj->weight == b.q_proj->weight);
  CHECK(a.k_proj->weight == b.k_proj->weight);
  CHECK(a.v_proj->weight == b.v_proj->weight);
  REQUIRE(a.q_proj->bias.has_value() == b.q_proj->bias.has_value());
  if (a.q_proj->bias) {
    CHECK(*a.q_proj->bias == *b.q_proj->bias);
    CHECK(*a.k_proj->bias == *b.k_proj->bias);
    CHECK(*a.v_proj->bias == *b.v_proj->bias);
  }
}

}  // namespace

TEST_CASE("a minimal input: X only, basic self-attention", "[load]") {
  const Spec spec = load(base());
  CHECK_FALSE(spec.batched);
  CHECK(spec.q_len() == 3);
  CHECK(spec.embed_dim() == 2);
  CHECK_FALSE(spec.learned_projections());
  CHECK_FALSE(spec.out_proj.has_value());
  CHECK(spec.num_heads == 1);
  CHECK(spec.tokens == std::vector<std::vector<std::string>>{{"0", "1", "2"}});
  CHECK(spec.scale() == Approx(1 / std::sqrt(2.0)));
}

TEST_CASE("packed in_proj_weight splits into W_q, W_k, W_v in that order", "[load]") {
  json doc = base();
  doc["weights"] = {{"in_proj_weight", packed_weight}, {"in_proj_bias", packed_bias}};
  const Spec spec = load(doc);
  REQUIRE(spec.learned_projections());
  CHECK(spec.q_proj->weight(0, 0) == 0.5);
  CHECK(spec.q_proj->weight(0, 1) == -0.3);
  CHECK(spec.k_proj->weight(1, 0) == -0.6);
  CHECK(spec.v_proj->weight(1, 1) == 0.5);
  CHECK((*spec.q_proj->bias)(0) == 0.1);
  CHECK((*spec.k_proj->bias)(1) == 0.2);
  CHECK((*spec.v_proj->bias)(0) == 0.05);
  REQUIRE(spec.notes.size() == 1);
  CHECK_THAT(spec.notes[0], Contains("query, key, value"));

  SECTION("the same weights as q/k/v_proj_weight") {
    json separate = base();
    separate["weights"] = {{"q_proj_weight", slice_rows(packed_weight, 0, 2)},
                           {"k_proj_weight", slice_rows(packed_weight, 2, 2)},
                           {"v_proj_weight", slice_rows(packed_weight, 4, 2)},
                           {"in_proj_bias", packed_bias}};
    require_same_projections(spec, load(separate));
  }
  SECTION("the same weights as W_q, W_k, W_v with b_q, b_k, b_v") {
    json plain = base();
    plain["weights"] = {
        {"W_q", slice_rows(packed_weight, 0, 2)}, {"W_k", slice_rows(packed_weight, 2, 2)},
        {"W_v", slice_rows(packed_weight, 4, 2)}, {"b_q", slice(packed_bias, 0, 2)},
        {"b_k", slice(packed_bias, 2, 2)},        {"b_v", slice(packed_bias, 4, 2)}};
    require_same_projections(spec, load(plain));
  }
  SECTION("the same weights in math layout, transposed") {
    json math = base();
    math["weight_layout"] = "math";
    math["weights"] = {{"in_proj_weight", transpose(packed_weight)}, {"in_proj_bias", packed_bias}};
    require_same_projections(spec, load(math));

    json plain_math = base();
    plain_math["weight_layout"] = "math";
    plain_math["weights"] = {{"W_q", transpose(slice_rows(packed_weight, 0, 2))},
                             {"W_k", transpose(slice_rows(packed_weight, 2, 2))},
                             {"W_v", transpose(slice_rows(packed_weight, 4, 2))},
                             {"b_q", slice(packed_bias, 0, 2)},
                             {"b_k", slice(packed_bias, 2, 2)},
                             {"b_v", slice(packed_bias, 4, 2)}};
    require_same_projections(spec, load(plain_math));
  }
}

TEST_CASE("output projection in both spellings and layouts", "[load]") {
  json doc = base();
  doc["weights"] = {{"out_proj.weight", json::parse("[[1, 2], [3, 4], [5, 6]]")},
                    {"out_proj.bias", json::parse("[0.5, 0.25, 0.125]")}};
  Spec spec = load(doc);
  REQUIRE(spec.out_proj.has_value());
  CHECK(spec.out_proj->weight.rows() == 3);  // (out, in): maps width 2 to width 3
  CHECK(spec.out_proj->weight(2, 1) == 6);
  CHECK((*spec.out_proj->bias)(2) == 0.125);

  doc["weights"] = {{"W_o", json::parse("[[1, 2, 3], [4, 5, 6]]")}};
  doc["weight_layout"] = "math";
  spec = load(doc);
  REQUIRE(spec.out_proj.has_value());
  CHECK(spec.out_proj->weight(2, 1) == 6);  // stored (out, in) whatever the layout
  CHECK_FALSE(spec.out_proj->bias.has_value());
}

TEST_CASE("batched input and tokens", "[load]") {
  json doc = {{"input", json::parse("[[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[0, 0], [1, 1]]]")}};
  Spec spec = load(doc);
  CHECK(spec.batched);
  CHECK(spec.batch_size() == 3);
  CHECK(spec.inputs[1](1, 0) == 7);
  CHECK(spec.tokens.size() == 3);

  doc["tokens"] = {"a", "b"};
  spec = load(doc);
  CHECK(spec.tokens[2] == std::vector<std::string>{"a", "b"});

  doc["tokens"] = json::parse(R"([["a", "b"], ["c", "d"], ["e", "f"]])");
  spec = load(doc);
  CHECK(spec.tokens[1] == std::vector<std::string>{"c", "d"});
}

TEST_CASE("scale options", "[load]") {
  json doc = {{"input", json::parse("[[1, 2, 3, 4], [5, 6, 7, 8]]")}, {"num_heads", 2}};
  CHECK(load(doc).scale() == Approx(1 / std::sqrt(2.0)));
  doc["scale"] = "embed_dim";
  CHECK(load(doc).scale() == Approx(0.5));
  doc["scale"] = "none";
  CHECK(load(doc).scale() == 1.0);
  doc["scale"] = 0.125;
  CHECK(load(doc).scale() == 0.125);
  CHECK(load(doc).notes.empty());
  doc["scale"] = 8;
  CHECK_THAT(load(doc).notes.at(0), Contains("write \"scale\": 0.125"));
}

namespace {
void require_error(const json& doc, const std::string& message) {
  REQUIRE_THROWS_AS(load(doc), Error);
  REQUIRE_THROWS_WITH(load(doc), Contains(message));
}
}  // namespace

TEST_CASE("bad inputs name the file, the path, the expected and the found", "[load][errors]") {
  SECTION("wrong packed shape") {
    json doc = base();
    doc["weights"] = {
        {"in_proj_weight", json::parse("[[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3]]")}};
    require_error(doc,
                  "ex.json: weights.in_proj_weight: expected shape (6, 2) for embed dim 2, "
                  "found (6, 3)");
  }
  SECTION("ragged rows") {
    require_error(json{{"input", json::parse("[[1, 2], [3, 4], [5, 6, 7]]")}},
                  "ex.json: input[2]: row 2 has 3 numbers, the rows above have 2");
  }
  SECTION("a non-number") {
    require_error(json{{"input", json::parse(R"([[1, 2], [3, "x"]])")}},
                  "ex.json: input[1][1]: expected a number, found a string \"x\"");
  }
  SECTION("empty input") {
    require_error(json{{"input", json::array()}}, "ex.json: input: expected a matrix");
  }
  SECTION("missing input") {
    require_error(json{{"tokens", {"a"}}}, "ex.json: input: missing");
  }
  SECTION("num_heads that does not divide E lists the ones that would") {
    json doc = {{"input", json::parse("[[1, 2, 3, 4, 5, 6]]")}, {"num_heads", 4}};
    require_error(doc, "num_heads: 4 does not divide the width of Q, K and V (6)");
    REQUIRE_THROWS_MATCHES(load(doc), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
                             return e.hint() == "head counts that would: 1, 2, 3, 6";
                           }));
  }
  SECTION("num_heads not a whole number") {
    require_error(json{{"input", json::parse("[[1, 2]]")}, {"num_heads", 1.5}},
                  "num_heads: expected a whole number ≥ 1, found a number 1.5");
  }
  SECTION("token count different from L") {
    json doc = base();
    doc["tokens"] = {"I", "am"};
    require_error(doc, "ex.json: tokens: expected 3 token labels, one per row of input, found 2");
  }
  SECTION("unknown key with the nearest known one") {
    json doc = base();
    doc["weights"] = {{"in_proj_wieght", packed_weight}};
    require_error(doc,
                  "ex.json: weights.in_proj_wieght: unknown key \"in_proj_wieght\"; did you "
                  "mean \"in_proj_weight\"?");
    json top = base();
    top["num_head"] = 2;
    require_error(top, "ex.json: num_head: unknown key \"num_head\"; did you mean \"num_heads\"?");
  }
  SECTION("two forms of the same weights") {
    json doc = base();
    doc["weights"] = {{"in_proj_weight", packed_weight}, {"W_q", slice_rows(packed_weight, 0, 2)}};
    require_error(doc,
                  "weights: two forms of the Q/K/V weights given at once: in_proj_weight and W_q");
  }
  SECTION("a separate weight missing") {
    json doc = base();
    doc["weights"] = {{"W_q", slice_rows(packed_weight, 0, 2)},
                      {"W_k", slice_rows(packed_weight, 2, 2)}};
    require_error(doc, "weights.W_v: missing");
  }
  SECTION("a bias of the wrong length") {
    json doc = base();
    doc["weights"] = {{"in_proj_weight", packed_weight},
                      {"in_proj_bias", json::parse("[1, 2, 3]")}};
    require_error(doc,
                  "weights.in_proj_bias: expected 6 numbers (b_q, b_k, b_v stacked, 2 each), "
                  "found 3");
  }
  SECTION("a weight in the wrong layout says which layout is in force") {
    json doc = base();
    doc["weights"] = {{"W_q", json::parse("[[1, 2, 3], [4, 5, 6]]")},
                      {"W_k", json::parse("[[1, 2, 3], [4, 5, 6]]")},
                      {"W_v", json::parse("[[1, 2, 3], [4, 5, 6]]")}};
    require_error(doc, "weights.W_q: expected shape (out, 2) for embed dim 2, found (2, 3)");
    REQUIRE_THROWS_MATCHES(load(doc), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
                             return e.hint() ==
                                    "(2, 3) is the shape of the transpose: for (in, out) matrices "
                                    "used as x·W, set \"weight_layout\": \"math\"";
                           }));
    doc["weight_layout"] = "math";
    doc["weights"]["W_k"] = json::parse("[[1, 2], [3, 4], [5, 6]]");
    require_error(doc,
                  "weights.W_k: expected shape (2, 3) for embed dim 2, like W_q, found (3, 2)");
  }
  SECTION("bad scale and layout values") {
    json doc = base();
    doc["scale"] = "sqrt";
    require_error(doc,
                  "ex.json: scale: expected \"head_dim\", \"embed_dim\", \"none\" or a "
                  "positive number, found a string \"sqrt\"");
    doc["scale"] = -1;
    require_error(doc, "found a number -1");
    doc.erase("scale");
    doc["weight_layout"] = "pytorch";
    require_error(doc,
                  "ex.json: weight_layout: expected \"torch\" or \"math\", found a string "
                  "\"pytorch\"");
  }
  SECTION("batches of different shapes") {
    require_error(json{{"input", json::parse("[[[1, 2]], [[1, 2, 3]]]")}},
                  "ex.json: input[1]: expected shape (1, 2) like input[0], found (1, 3)");
  }
  SECTION("a top-level array") {
    require_error(json::parse("[[1, 2]]"), "ex.json: (top level): expected a JSON object");
  }
}

TEST_CASE("text that is not JSON points at the line and column", "[load][errors]") {
  const std::string text =
      "{\n  \"input\": [[1, 2],\n             [3, 4]]\n  \"tokens\": [\"a\", \"b\"]\n}\n";
  REQUIRE_THROWS_WITH(load_spec(text, "bad.json"), Contains("bad.json:4:3: "));
  REQUIRE_THROWS_WITH(load_spec(text, "bad.json"),
                      Contains("\n    \"tokens\": [\"a\", \"b\"]\n    ^"));
  REQUIRE_THROWS_WITH(load_spec("", "empty.json"),
                      Contains("empty.json: the file is empty, expected a JSON object"));
  REQUIRE_THROWS_WITH(load_spec(" \n\t", "blank.json"),
                      Contains("blank.json: the file is only whitespace"));
  REQUIRE_THROWS_WITH(load_spec("", "<stdin>"),
                      Contains("<stdin>: standard input was empty: it closed before any JSON"));
  REQUIRE_THROWS_WITH(load_spec("{\"input\": [[1e400, 2]]}", "big.json"),
                      Contains("big.json:1:13: number 1e400 is out of range"));
  REQUIRE_THROWS_AS(load_spec("{\"input\": [[1e400, 2]]}", "big.json"), Error);
}

TEST_CASE("weights that would be silently dropped are errors", "[load][errors]") {
  SECTION("in_proj_bias next to W_q, W_k, W_v") {
    json doc = base();
    doc["weights"] = {{"W_q", slice_rows(packed_weight, 0, 2)},
                      {"W_k", slice_rows(packed_weight, 2, 2)},
                      {"W_v", slice_rows(packed_weight, 4, 2)},
                      {"in_proj_bias", packed_bias}};
    require_error(doc,
                  "ex.json: weights.in_proj_bias: given with W_q, W_k, W_v, whose biases are "
                  "b_q, b_k, b_v");
  }
  SECTION("a key written twice") {
    const std::string text = "{\"input\": [[1, 2]],\n \"scale\": 8,\n \"scale\": \"none\"}";
    REQUIRE_THROWS_WITH(
        load_spec(text, "dup.json"),
        Contains("dup.json:3:2: duplicate key \"scale\": JSON keeps only one value"));
  }
  SECTION("the same key in two different objects is fine") {
    json doc = base();
    doc["name"] = "x";
    doc["weights"] = {{"W_o", json::parse("[[1, 0], [0, 1]]")}};
    CHECK_NOTHROW(load(doc));
  }
  SECTION("a key of a whole model's state_dict") {
    json doc = base();
    doc["weights"] = {{"layers.0.self_attn.in_proj_weight", packed_weight}};
    require_error(doc,
                  "unknown key \"layers.0.self_attn.in_proj_weight\"; did you mean "
                  "\"in_proj_weight\"?");
    REQUIRE_THROWS_MATCHES(
        load(doc), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
          return e.hint().starts_with("drop the module prefix \"layers.0.self_attn.\"");
        }));
  }
  SECTION("a packed matrix in the other layout") {
    json doc = base();
    doc["weights"] = {{"in_proj_weight", transpose(packed_weight)}};
    require_error(doc,
                  "weights.in_proj_weight: expected shape (6, 2) for embed dim 2, found (2, 6)");
    REQUIRE_THROWS_MATCHES(load(doc), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
                             return e.hint().find("set \"weight_layout\": \"math\"") !=
                                    std::string::npos;
                           }));
  }
}

namespace {
// What the CLI prints for `text`: the message and the hint.
std::string message_and_hint(const std::string& text) {
  try {
    (void)load_spec(text, "x.json");
  } catch (const Error& e) {
    return std::string(e.what()) + "\nhint: " + e.hint();
  }
  return "no error";
}
}  // namespace

TEST_CASE("common JSON mistakes get a caret on the right column and a hint", "[load][errors]") {
  const auto hint_for = message_and_hint;
  CHECK_THAT(
      hint_for("{\"input\": [[1, 2] [3, 4]]}"),
      Contains("x.json:1:19: ") && Contains("hint: is a comma missing between two elements?"));
  CHECK_THAT(
      hint_for("{\"input\": [[1, 2], [3, 4],]}"),
      Contains("x.json:1:27: ") && Contains("hint: JSON allows no comma after the last element"));
  CHECK_THAT(hint_for("{\"input\": [[1, 2]], // note\n}"),
             Contains("x.json:1:21: ") && Contains("hint: JSON has no comments"));
  CHECK_THAT(hint_for("{'input': [[1]]}"),
             Contains("x.json:1:2: ") && Contains("hint: JSON strings use double quotes"));
  CHECK_THAT(hint_for("{\"input\": [[1, 2]"),
             Contains("hint: the text ends before every [ and { is closed"));
  CHECK_THAT(hint_for("{\"input\": [[1, 2]], \"tokens\": [I]}"),
             Contains("x.json:1:32: ") && Contains("text needs double quotes"));
  // Near misses of Python's NaN, Infinity and -Infinity, which are read (below).
  for (const char* word : {"nan", "inf", "-inf", "INF", "-infinity", "Nan"}) {
    CHECK_THAT(hint_for(std::string("{\"input\": [[1, ") + word + "]]}"),
               Contains("x.json:1:16: ") &&
                   Contains(std::string("hint: JSON has no ") + word +
                            ": attn-trace reads NaN, Infinity and -Infinity, spelled as Python's "
                            "json.dump writes them"));
  }
  CHECK_THAT(hint_for("{\"input\": [[1, +Infinity]]}"),
             Contains("x.json:1:16: ") && Contains("hint: write Infinity without the plus sign"));
  for (const char* text : {"{\"input\": [[1, Infinityx]]}", "{\"input\": [[1, NaN1]]}",
                           "{\"input\": [[1, -Infinity_]]}"}) {
    CHECK_THAT(hint_for(text), Contains("x.json:1:16: ") &&
                                   Contains("is a number only on its own, like any number"));
  }
}

TEST_CASE("Python's NaN, Infinity and -Infinity are numbers, wherever a number is",
          "[load][python_json]") {
  constexpr double inf = std::numeric_limits<double>::infinity();
  SECTION("in the input and the weights, as json.dump writes them") {
    const Spec spec = load_spec(R"({"input": [[NaN, Infinity], [-Infinity, 1]],
      "weights": {"W_q": [[1, NaN], [0, 1]], "W_k": [[1, 0], [0, 1]], "W_v": [[1, 0], [0, 1]],
                  "b_v": [Infinity, -Infinity]}})",
                                "x.json");
    CHECK(std::isnan(spec.inputs[0](0, 0)));
    CHECK(spec.inputs[0](0, 1) == inf);
    CHECK(spec.inputs[0](1, 0) == -inf);
    CHECK(std::isnan(spec.q_proj->weight(0, 1)));
    CHECK(*spec.v_proj->bias == Vector{{inf, -inf}});
  }
  SECTION("-Infinity in a float attn_mask blocks the key, as \"-inf\" does") {
    const Spec a = load_spec(
        R"({"input": [[1, 0], [0, 1]], "attn_mask": [[0, -Infinity], [0, 0]]})", "a.json");
    const Spec b =
        load_spec(R"({"input": [[1, 0], [0, 1]], "attn_mask": [[0, "-inf"], [0, 0]]})", "b.json");
    CHECK(a.masks.attn_mask->blocks.at(0) == b.masks.attn_mask->blocks.at(0));
    CHECK(a.masks.attn_mask->blocks.at(0)(0, 1) == -inf);
    CHECK(a.warnings.empty());
  }
  SECTION("in a published block") {
    const Spec spec = load_spec(
        R"({"input": [[1, 0]], "published": {"softmax": {"weights": {"values": [[NaN]]}}}})",
        "p.json");
    CHECK(std::isnan(spec.published.at(0).values.at(0)));
  }
  SECTION("inside strings and keys they are text, left as they are") {
    const Spec spec = load_spec(
        R"({"description": "NaN, -Infinity", "input": [[1]], "tokens": ["Infinity"]})", "s.json");
    CHECK(spec.description == "NaN, -Infinity");
    CHECK(spec.tokens.at(0).at(0) == "Infinity");
    CHECK_THAT(message_and_hint(R"({"input": [[1]], "NaN": NaN})"),
               Contains("x.json: NaN: unknown key \"NaN\""));
  }
  SECTION("in a weights file, a whole state_dict on one line") {
    LoadOptions options;
    options.weights = WeightsFile{R"({"in_proj_weight": [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0],
        [0, NaN]], "in_proj_bias": [0, 0, 0, 0, -Infinity, 0]})",
                                  "w.json", std::nullopt};
    const Spec spec = load_spec(R"({"input": [[1, 0]], "num_heads": 1})", "x.json", options);
    CHECK(std::isnan(spec.v_proj->weight(1, 1)));
    CHECK((*spec.v_proj->bias)(0) == -inf);
  }
}

TEST_CASE("a mistake in a file with NaN and -Infinity is found where it stands",
          "[load][python_json][errors]") {
  // nlohmann's parser, which finds the mistake, knows no NaN: it must not stop at them.
  CHECK_THAT(
      message_and_hint("{\"input\": [[NaN, -Infinity], [Infinity 2]]}"),
      Contains("x.json:1:40: syntax error while parsing array - unexpected number literal") &&
          Contains("hint: is a comma missing between two elements?"));
  CHECK_THAT(message_and_hint("{\"input\": [[NaN, -Infinity],\n  [1, 2],]}"),
             Contains("x.json:2:10: ") && Contains("JSON allows no comma after the last element"));
  CHECK_THAT(message_and_hint("{\"input\": [[NaN, NaN NaN]]}"),
             Contains("x.json:1:22: ") && Contains("is a comma missing between two elements?"));
  // The number beyond double range, not the NaN before it.
  CHECK_THAT(message_and_hint("{\"input\": [[NaN, 1e999]]}"),
             Contains("x.json:1:18: number 1e999 is out of range"));
  // A file whose only "mistake" is NaN is no mistake.
  CHECK(message_and_hint("{\"input\": [[NaN, -Infinity]]}") == "no error");
}

TEST_CASE("where NaN and ±Infinity make no sense, they are refused as what they are",
          "[load][python_json][errors]") {
  CHECK_THAT(message_and_hint(R"({"input": [[1, 0]], "num_heads": NaN})"),
             Contains("num_heads: expected a whole number ≥ 1, found a number NaN"));
  CHECK_THAT(message_and_hint(R"({"input": [[1, 0]], "num_heads": Infinity})"),
             Contains("num_heads: expected at most 2 (the width of Q, K and V), found Infinity"));
  CHECK_THAT(message_and_hint(R"({"input": [[1, 0]], "scale": Infinity})"),
             Contains("scale: expected a finite multiplier, found Infinity"));
  CHECK_THAT(message_and_hint(R"({"input": [[1, 0]], "scale": NaN})"),
             Contains("scale: expected \"head_dim\", \"embed_dim\", \"none\" or a positive number, "
                      "found a number NaN"));
  CHECK_THAT(
      message_and_hint(R"({"input": [[1, 0], [0, 1]], "attn_mask": [[0, NaN], [0, 0]]})"),
      Contains("attn_mask[0][1]: expected a finite number or -Infinity like attn_mask[0][0], "
               "found a number NaN") &&
          Contains("hint: only -Infinity (or the string \"-inf\") blocks"));
  CHECK_THAT(
      message_and_hint(R"({"input": [[1, 0], [0, 1]], "attn_mask": [[0, Infinity], [0, 0]]})"),
      Contains("found a number Infinity"));
  CHECK_THAT(message_and_hint(R"({"input": [[1, 0], [0, 1]], "mask": [[1, -Infinity], [1, 1]]})"),
             Contains("mask[0][1]: expected 0 or 1 (1 = may attend, 0 = blocked), found a number "
                      "-Infinity") &&
                 Contains("hint: -Infinity (Python's float('-inf')) is a float attn_mask's way"));
  CHECK_THAT(message_and_hint(R"({"input": [[1, 0], [0, 1]], "key_padding_mask": [-Infinity, 0]})"),
             Contains("key_padding_mask[0]: expected true or false") &&
                 Contains("hint: PyTorch's float key_padding_mask (-Infinity = ignored"));
}

TEST_CASE("stray brackets, tabs and numbers in strings", "[load][errors]") {
  CHECK_THAT(message_and_hint("{\"input\": [[1, 2]]}}"),
             Contains("x.json:1:20: ") && Contains("hint: the JSON closed before this"));
  CHECK_THAT(message_and_hint("{\"input\": [[1, 2]]]}"),
             Contains("hint: is this ] one too many, or is a } missing before it?"));
  // The caret line keeps the tabs of the offending line.
  REQUIRE_THROWS_WITH(load_spec("{\n\t\"input\": [[1, 2],\n\t\t[3 4]]}", "x.json"),
                      Contains("x.json:3:6: ") && Contains("\n  \t\t[3 4]]}\n  \t\t   ^"));
  // The out-of-range number, not the same characters inside a string before it.
  REQUIRE_THROWS_WITH(
      load_spec("{\"description\": \"like 1e400\", \"input\": [[1e400]]}", "x.json"),
      Contains("x.json:1:42: number 1e400 is out of range"));
}

TEST_CASE("head counts and token lists, read the way a person means them", "[load]") {
  json doc = {{"input", json::parse("[[1, 2, 3, 4]]")}, {"num_heads", 2.0}};
  CHECK(load(doc).num_heads == 2);
  doc["num_heads"] = json::parse("18446744073709551615");
  require_error(doc,
                "num_heads: expected at most 4 (the width of Q, K and V), found "
                "18446744073709551615");
  doc["num_heads"] = 0;
  require_error(doc, "num_heads: expected a whole number ≥ 1, found a number 0");

  json tokens = base();
  tokens["tokens"] = json::parse(R"(["a", ["b"], "c"])");
  require_error(tokens, "tokens: expected a list of token labels, found a list of lists");

  // Problems are reported in file order: zeta first.
  REQUIRE_THROWS_WITH(load_spec(R"({"input": [[1]], "zeta": 1, "alpha": 2})", "ex.json"),
                      Contains("ex.json: zeta: unknown key \"zeta\""));
}

TEST_CASE("files that cannot be read", "[load][errors]") {
  REQUIRE_THROWS_WITH(load_spec_file("/nonexistent/x.json"),
                      Contains("/nonexistent/x.json: no such file"));
  REQUIRE_THROWS_WITH(load_spec_file("/tmp"), Contains("/tmp: is a directory"));
}

TEST_CASE("numbers too small for a double are 0, as strtod reads them", "[load]") {
  const Spec spec = load_spec(R"({"input": [[1, 1e-400], [-1e-400, 4e-320]]})", "tiny.json");
  CHECK(spec.inputs[0](0, 1) == 0.0);
  CHECK(spec.inputs[0](1, 0) == 0.0);
  CHECK(spec.inputs[0](1, 1) == 4e-320);
  // and a duplicate key beside them is still found
  REQUIRE_THROWS_WITH(load_spec(R"({"name": "a", "name": "b", "input": [[1e-400]]})", "d.json"),
                      Catch::Contains("duplicate key \"name\""));
}

TEST_CASE("text nested deeper than any valid input is refused before a parser recurses",
          "[load][errors]") {
  const std::string deep =
      "{\"input\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  REQUIRE_THROWS_WITH(load_spec(deep, "x.json"),
                      Contains("x.json:1:27: nested more than 16 levels deep here"));
  // 16 levels is still read (and then refused for what it is: no such key).
  const std::string sixteen =
      "{\"input\": [[1]], \"x\": " + std::string(15, '[') + std::string(15, ']') + "}";
  REQUIRE_THROWS_WITH(load_spec(sixteen, "x.json"), Contains("x.json: x: unknown key"));
}

TEST_CASE("a long line is shown around the error, not whole", "[load][errors]") {
  // A state_dict dumped by json.dump is one line of megabytes.
  std::string row;
  for (int i = 0; i < 5000; ++i) row += "0.125, ";
  const std::string text = "{\"input\": [[" + row + "x]]}";
  try {
    (void)load_spec(text, "x.json");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Contains("x.json:1:35013: "));
    CHECK(message.size() < 400);
    // The caret is under the x.
    const std::size_t shown = message.find("\n  …");
    const std::size_t caret = message.find('^');
    REQUIRE(shown != std::string::npos);
    REQUIRE(caret != std::string::npos);
    const std::string shown_line =
        message.substr(shown + 3, message.find('\n', shown + 1) - shown - 3);
    const std::size_t caret_column = caret - message.rfind('\n', caret) - 3;  // after "\n  "
    // "…" is one column but three bytes: the caret sits two bytes left of the x in the line.
    CHECK(shown_line.substr(caret_column + 2, 1) == "x");
  }
}

TEST_CASE("the tutorials' module names load without renaming", "[load][modules]") {
  json doc = base();
  doc["weights"] = {{"in_proj_weight", packed_weight}, {"in_proj_bias", packed_bias}};
  const Spec packed = load(doc);

  SECTION("seed 001: linear_q, linear_k, linear_v, each an nn.Linear (out, in)") {
    json linear = base();
    linear["weights"] = {{"linear_q.weight", slice_rows(packed_weight, 0, 2)},
                         {"linear_q.bias", slice(packed_bias, 0, 2)},
                         {"linear_k.weight", slice_rows(packed_weight, 2, 2)},
                         {"linear_k.bias", slice(packed_bias, 2, 2)},
                         {"linear_v.weight", slice_rows(packed_weight, 4, 2)},
                         {"linear_v.bias", slice(packed_bias, 4, 2)}};
    require_same_projections(packed, load(linear));
  }
  SECTION("seed 004: qkv, one nn.Linear whose rows are q, k, v") {
    json qkv = base();
    qkv["weights"] = {{"qkv.weight", packed_weight}, {"qkv.bias", packed_bias}};
    const Spec spec = load(qkv);
    require_same_projections(packed, spec);
    CHECK_THAT(spec.notes.at(0), Contains("qkv.weight"));
  }
  SECTION("GPT-2: c_attn, a Conv1D stored (in, out) = (E, 3E), and c_proj") {
    json gpt2 = base();
    gpt2["weights"] = {{"c_attn.weight", transpose(packed_weight)},
                       {"c_attn.bias", packed_bias},
                       {"c_proj.weight", json::parse("[[1, 2], [3, 4]]")},
                       {"c_proj.bias", json::parse("[0.5, 0.25]")}};
    const Spec spec = load(gpt2);
    require_same_projections(packed, spec);
    REQUIRE(spec.out_proj);
    CHECK(spec.out_proj->weight(0, 1) == 3);          // stored (in, out): column 0 is output 0
    CHECK(spec.weight_layout == WeightLayout::math);  // the header shows how they were stored
  }
  SECTION("a module fixes its layout; weight_layout applies to none of its weights") {
    json linear = base();
    linear["weight_layout"] = "math";
    linear["weights"] = {{"linear_q.weight", slice_rows(packed_weight, 0, 2)},
                         {"linear_k.weight", slice_rows(packed_weight, 2, 2)},
                         {"linear_v.weight", slice_rows(packed_weight, 4, 2)}};
    const Spec spec = load(linear);
    CHECK(spec.q_proj->weight == load(packed_doc_without_bias()).q_proj->weight);
    CHECK(spec.weight_layout == WeightLayout::torch);
    CHECK_THAT(spec.notes.back(), Contains("weight_layout \"math\" applies to none of these"));
  }
}

TEST_CASE("mistakes with the tutorials' module names", "[load][modules][errors]") {
  const auto fails = [](const json& weights, const std::string& message,
                        const std::string& hint = {}) {
    json doc = base();
    doc["weights"] = weights;
    INFO(doc.dump());
    REQUIRE_THROWS_MATCHES(load(doc), Error, Catch::Predicate<Error>([&](const Error& e) {
                             return std::string(e.what()) == message &&
                                    e.hint().find(hint) != std::string::npos;
                           }));
  };
  const json rect = json::parse("[[1, 2], [3, 4], [5, 6]]");  // (3, 2): (out, in) for E = 2
  fails(
      {{"linear_q.weight", transpose(rect)}, {"linear_k.weight", rect}, {"linear_v.weight", rect}},
      "ex.json: weights.linear_q.weight: expected shape (out, 2) for embed dim 2, found (2, 3)",
      "linear_q.weight is an nn.Linear weight, stored (out, in)");
  fails({{"c_attn.weight", packed_weight}},
        "ex.json: weights.c_attn.weight: expected shape (2, 6) for embed dim 2, found (6, 2)",
        "(6, 2) is the shape of the transpose: c_attn.weight is a GPT-2 Conv1D weight, stored "
        "(in, out): give the module's state_dict as it is, not transposed");
  fails({{"qkv.bias", packed_bias}},
        "ex.json: weights.qkv.weight: missing: qkv.bias is given without it");
  fails({{"qkv.weight", packed_weight}, {"in_proj_bias", packed_bias}},
        "ex.json: weights.in_proj_bias: given with qkv.weight, whose bias is qkv.bias",
        "give it as qkv.bias");
  fails({{"linear_q.weight", rect},
         {"linear_k.weight", rect},
         {"linear_v.weight", rect},
         {"in_proj_bias", packed_bias}},
        "ex.json: weights.in_proj_bias: given with linear_q.weight, linear_k.weight, "
        "linear_v.weight, whose biases are linear_q.bias, linear_k.bias, linear_v.bias");
  fails({{"qkv.weight", packed_weight}, {"W_q", rect}},
        "ex.json: weights: two forms of the Q/K/V weights given at once: qkv.weight and W_q");
  fails({{"out_proj.weight", rect}, {"c_proj.weight", rect}},
        "ex.json: weights: two forms of the output projection given at once: out_proj.* and "
        "c_proj.*");
  fails({{"linear_q.weight", rect}, {"linear_k.weight", rect}},
        "ex.json: weights.linear_v.weight: missing: linear_q.weight, linear_k.weight and "
        "linear_v.weight come together");
}

TEST_CASE("weights files: what is not a state_dict, and --heads", "[load][weights_file][errors]") {
  const std::string input = base().dump();
  const auto with = [&](std::string text, std::optional<std::string> prefix = std::nullopt) {
    LoadOptions options;
    options.weights = WeightsFile{std::move(text), "w.json", std::move(prefix)};
    return load_spec(input, "x.json", options);
  };
  const auto hint_of = [&](std::string text) -> std::string {
    try {
      (void)with(std::move(text));
    } catch (const Error& e) {
      return e.hint();
    }
    return "(no error)";
  };
  REQUIRE_THROWS_WITH(with(""),
                      "w.json: the file is empty, expected a JSON object of named weights (a "
                      "state_dict)");
  REQUIRE_THROWS_WITH(with("[[1, 2]]"), Contains("w.json: (top level): expected a JSON object of "
                                                 "named weights (a state_dict), found an array"));
  REQUIRE_THROWS_WITH(with(R"({"in_proj_weigth": [[1]], "out_proj.weight": [[1]]})"),
                      "w.json: found no attention layer's Q/K/V weights among its 2 keys");
  CHECK(hint_of(R"({"in_proj_weigth": [[1]]})") ==
        "did you mean \"in_proj_weight\" for \"in_proj_weigth\"?");
  CHECK_THAT(hint_of(R"({"input": [[1]]})"), Contains("this looks like an input file"));
  REQUIRE_THROWS_WITH(with(R"({"W_q": [[1, 0]], "W_q": [[1, 0]]})"),
                      Contains("w.json:1:19: duplicate key \"W_q\""));
  // Errors inside the chosen layer name the weights file and the key as written there.
  REQUIRE_THROWS_WITH(
      with(R"({"attn.in_proj_weight": [[1, 2, 3]], "mlp.weight": [[0]]})"),
      Contains("w.json: attn.in_proj_weight: expected shape (6, 2) for embed dim 2, found (1, 3)"));
  // An unknown key under the layer's prefix is still a mistake, and at the top level too.
  REQUIRE_THROWS_WITH(with(R"({"W_q": [[1, 0], [0, 1]], "W_kk": [[1]]})"),
                      Contains("w.json: W_kk: unknown key \"W_kk\"; did you mean \"W_k\"?"));
  REQUIRE_THROWS_WITH(with(R"({"attn.W_q": [[1, 0], [0, 1]], "attn.W_kk": [[1]]})"),
                      Contains("w.json: attn.W_kk: unknown key \"W_kk\""));

  SECTION("--heads replaces num_heads, and is checked against the width of Q, K and V") {
    json doc = base();
    doc["num_heads"] = 1;
    LoadOptions options;
    options.num_heads = 2;
    const Spec spec = load_spec(doc.dump(), "x.json", options);
    CHECK(spec.num_heads == 2);
    CHECK_THAT(spec.notes.back(), Contains("2 heads, from --heads (the file says num_heads 1)"));
    options.num_heads = 3;
    REQUIRE_THROWS_WITH(load_spec(doc.dump(), "x.json", options),
                        "x.json: --heads: expected a whole number from 1 to 2 (the width of Q, K "
                        "and V), found 3");
  }
}
