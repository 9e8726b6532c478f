// Masks, cross-attention and the extra keys: what the loader reads, the additive form the masks
// become, the hand-checkable numbers of a masked trace, the warnings, and how the renderers show
// blocked cells. The PyTorch goldens (tests/golden/mask-*, cross-*) check every number of many
// more configurations; these tests pin down the meaning of each convention by hand.
#include <cmath>
#include <limits>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attn_trace/core/error.hpp"
#include "attn_trace/core/masks.hpp"
#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/json.hpp"
#include "attn_trace/render/text.hpp"
#include "golden.hpp"

using namespace attn_trace;
using Catch::Contains;
using json = nlohmann::json;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// X = [[1, 0], [0, 1], [1, 1]] for "I am good", no weights: Q = K = V = X, d = 2, so
// scaled = X·Xᵀ/√2 = [[1, 0, 1], [0, 1, 1], [1, 1, 2]] / √2.
json tiny() {
  return json{{"input", json::parse("[[1, 0], [0, 1], [1, 1]]")}, {"tokens", {"I", "am", "good"}}};
}

Spec load(const json& doc) {
  return load_spec(doc.dump(), "ex.json");
}

Trace trace_of(const json& doc) {
  return trace_attention(load(doc));
}

const Tensor& tensor(const Trace& trace, std::string_view stage, std::string_view name) {
  const Stage* s = golden::find_stage(trace, stage);
  REQUIRE(s != nullptr);
  for (const Tensor& t : s->tensors) {
    if (t.name == name) return t;
  }
  FAIL("no tensor " << name << " in stage " << stage);
  throw;  // unreachable
}

std::vector<std::string> tensor_names(const Trace& trace, std::string_view stage) {
  std::vector<std::string> names;
  for (const Tensor& t : golden::find_stage(trace, stage)->tensors) names.push_back(t.name);
  return names;
}

void require_error(const json& doc, const std::string& message, const std::string& hint = "") {
  try {
    (void)load(doc);
    FAIL("no error; expected: " << message);
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains(message));
    if (!hint.empty()) CHECK_THAT(e.hint(), Contains(hint));
  }
}

std::string text_of(const Trace& trace) {
  std::ostringstream out;
  render_text(trace, TextOptions{}, out);
  return out.str();
}

}  // namespace

TEST_CASE("each mask convention is read as its own rule says", "[masks][load]") {
  SECTION("causal: query i may attend keys j <= i, top-left aligned when S != L") {
    const Matrix keep = causal_keep(2, 4);
    CHECK(keep == (Matrix(2, 4) << 1, 0, 0, 0, 1, 1, 0, 0).finished());
    json doc = tiny();
    doc["mask"] = "causal";
    const Spec spec = load(doc);
    REQUIRE(spec.masks.mask);
    CHECK(spec.masks.mask->causal);
    CHECK(spec.masks.mask->keep.front() == causal_keep(3, 3));
  }
  SECTION("a keep-matrix per batch") {
    json doc = {{"input", json::parse("[[[1, 0], [0, 1]], [[1, 1], [0, 1]]]")},
                {"mask", json::parse("[[[1, 0], [1, 1]], [[1, 1], [0, 1]]]")}};
    const Spec spec = load(doc);
    REQUIRE(spec.masks.mask);
    CHECK(spec.masks.mask->per_batch);
    REQUIRE(spec.masks.mask->keep.size() == 2);
    CHECK(spec.masks.mask->keep[1] == (Matrix(2, 2) << 1, 1, 0, 1).finished());
  }
  SECTION("attn_mask: booleans, or numbers with \"-inf\"") {
    json doc = tiny();
    doc["attn_mask"] =
        json::parse("[[false, true, true], [false, false, true], [false, false, false]]");
    Spec spec = load(doc);
    REQUIRE(spec.masks.attn_mask);
    CHECK(spec.masks.attn_mask->boolean);
    CHECK_FALSE(spec.masks.attn_mask->per_head);
    CHECK(spec.masks.attn_mask->blocks.front()(0, 1) == 1.0);

    doc["attn_mask"] = json::parse(R"([[0, "-inf", -0.5], [0, 0, 2], [0, 0, 0]])");
    spec = load(doc);
    CHECK_FALSE(spec.masks.attn_mask->boolean);
    CHECK(spec.masks.attn_mask->blocks.front()(0, 1) == -inf);
    CHECK(spec.masks.attn_mask->blocks.front()(0, 2) == -0.5);
    CHECK(spec.warnings.empty());
  }
  SECTION("a 3-D attn_mask is (H, L, S) unbatched, indexed by head") {
    json doc = {{"input", json::parse("[[1, 0], [0, 1]]")},
                {"num_heads", 2},
                {"attn_mask", json::parse("[[[false, true], [false, false]], "
                                          "[[false, false], [true, false]]]")}};
    const Spec spec = load(doc);
    CHECK(spec.masks.attn_mask->per_head);
    REQUIRE(spec.masks.attn_mask->blocks.size() == 2);
    CHECK(spec.masks.attn_mask->blocks[1](1, 0) == 1.0);
  }
  SECTION("key_padding_mask: (S) unbatched") {
    json doc = tiny();
    doc["key_padding_mask"] = {false, false, true};
    const Spec spec = load(doc);
    REQUIRE(spec.masks.key_padding_mask);
    CHECK(spec.masks.key_padding_mask->ignore.front() == Eigen::Vector3d(0, 0, 1));
  }
}

TEST_CASE("the additive mask: 0 where a query may attend, -inf where it may not", "[masks]") {
  Masks masks;
  SECTION("causal and key_padding_mask block the union of their cells") {
    masks.mask = KeepMask{true, false, {causal_keep(3, 3)}};
    masks.key_padding_mask = KeyPaddingMask{{Eigen::Vector3d(0, 1, 0)}};
    const Matrix m = additive_mask(masks, 0, 0, 1, 3, 3, 0);
    CHECK(m == (Matrix(3, 3) << 0, -inf, -inf, 0, -inf, -inf, 0, -inf, 0).finished());
  }
  SECTION("a float attn_mask is added as it is, and -inf where another mask blocks") {
    masks.attn_mask = AttnMask{false, false, {(Matrix(2, 2) << 0.5, -1, 2, -inf).finished()}};
    masks.key_padding_mask = KeyPaddingMask{{Eigen::Vector2d(1, 0)}};
    const Matrix m = additive_mask(masks, 0, 0, 1, 2, 2, 0);
    CHECK(m == (Matrix(2, 2) << -inf, -1, -inf, -inf).finished());
  }
  SECTION("a 3-D attn_mask picks block b·H + h") {
    std::vector<Matrix> blocks;
    for (int n = 0; n < 4; ++n) {
      Matrix block = Matrix::Zero(1, 4);
      block(0, n) = 1;  // block n blocks key n
      blocks.push_back(block);
    }
    masks.attn_mask = AttnMask{true, true, blocks};
    // Batch 1, head 0 of 2 heads is block 2.
    CHECK(additive_mask(masks, 1, 0, 2, 1, 4, 0) == (Matrix(1, 4) << 0, 0, -inf, 0).finished());
    CHECK(additive_mask(masks, 0, 1, 2, 1, 4, 0) == (Matrix(1, 4) << 0, -inf, 0, 0).finished());
  }
  SECTION("the extra keys' columns are never blocked") {
    masks.key_padding_mask = KeyPaddingMask{{Eigen::Vector2d(1, 1)}};
    const Matrix m = additive_mask(masks, 0, 0, 1, 1, 2, 2);
    CHECK(m == (Matrix(1, 4) << -inf, -inf, 0, 0).finished());
  }
}

TEST_CASE("a causal trace, by hand", "[masks][trace]") {
  json doc = tiny();
  doc["mask"] = "causal";
  const Trace trace = trace_of(doc);
  REQUIRE(trace.find_stage(StageId::masking) != nullptr);
  CHECK(tensor_names(trace, "masking") ==
        std::vector<std::string>{"mask", "additive_mask", "masked"});

  const double r = 1 / std::sqrt(2.0);
  const Tensor& masked = tensor(trace, "masking", "masked");
  const std::vector<double> expected_masked = {r, -inf, -inf, 0, r, -inf, r, r, 2 * r};
  REQUIRE(masked.data.size() == expected_masked.size());
  for (std::size_t i = 0; i < expected_masked.size(); ++i) {
    CHECK(masked.data[i] == Approx(expected_masked[i]).epsilon(1e-15));
  }

  // Row 0 sees only "I"; row 1 sees "I" (score 0) and "am" (score 1/√2); row 2 sees all three.
  const Tensor& weights = tensor(trace, "softmax", "weights");
  const double e = std::exp(r), e2 = std::exp(2 * r);
  const std::vector<double> expected = {
      1, 0, 0, 1 / (1 + e), e / (1 + e), 0, e / (2 * e + e2), e / (2 * e + e2), e2 / (2 * e + e2)};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(weights.data[i] == Approx(expected[i]).epsilon(1e-15));
  }
  // context row 1 = weights[1,0]·V[0] + weights[1,1]·V[1] = (1/(1+e), e/(1+e)).
  const Tensor& context = tensor(trace, "summation", "context");
  CHECK(context.data[2] == Approx(1 / (1 + e)).epsilon(1e-15));
  CHECK(context.data[3] == Approx(e / (1 + e)).epsilon(1e-15));
  CHECK(trace.warnings.empty());
}

TEST_CASE("a query row with every key blocked is nan, with a warning naming it", "[masks][trace]") {
  json doc = tiny();
  doc["mask"] = json::parse("[[1, 0, 0], [0, 0, 0], [1, 1, 1]]");
  doc["weights"] = {{"W_o", json::parse("[[1, 0], [0, 1]]")}};
  const Trace trace = trace_of(doc);
  const Tensor& weights = tensor(trace, "softmax", "weights");
  for (std::size_t j = 0; j < 3; ++j) {
    CHECK(std::isnan(weights.data[3 + j]));
    CHECK(std::isfinite(weights.data[j]));
    CHECK(std::isfinite(weights.data[6 + j]));
  }
  const Tensor& output = tensor(trace, "out_proj", "output");
  CHECK(std::isnan(output.data[2]));
  CHECK(std::isnan(output.data[3]));
  CHECK(std::isfinite(output.data[0]));
  REQUIRE(trace.warnings.size() == 1);
  CHECK_THAT(trace.warnings[0], Contains("softmax: every key is blocked for query \"am\" (row 1)"));
  CHECK_THAT(trace.warnings[0], Contains("nan, as in nn.MultiheadAttention"));
}

TEST_CASE("blocked rows are named with their head and batch", "[masks][trace]") {
  json doc = {{"input", json::parse("[[[1, 0], [0, 1]], [[1, 1], [0, 1]]]")},
              {"num_heads", 2},
              {"attn_mask", json::parse("[[[false, false], [false, false]], "
                                        "[[false, false], [false, false]], "
                                        "[[false, false], [false, false]], "
                                        "[[false, false], [true, true]]]")}};
  const Trace trace = trace_of(doc);
  REQUIRE(trace.warnings.size() == 1);
  CHECK_THAT(trace.warnings[0], Contains("query row 1 in head 1, batch 1:"));
}

TEST_CASE("a float attn_mask of 0s and 1s blocks nothing, and says so", "[masks][trace]") {
  json doc = tiny();
  doc["attn_mask"] = json::parse("[[0, 1, 1], [0, 0, 1], [0, 0, 0]]");
  const Trace trace = trace_of(doc);
  REQUIRE(trace.warnings.size() == 1);
  CHECK_THAT(trace.warnings[0],
             Contains("attn_mask holds only the numbers 0 and 1: a float attn_mask is added to "
                      "the scaled scores, so it adds 0 or 1 and blocks nothing"));
  // And it really blocks nothing: every weight is positive.
  for (double w : tensor(trace, "softmax", "weights").data) CHECK(w > 0);

  doc["attn_mask"] =
      json::parse("[[true, false, false], [false, false, false], [false, false, false]]");
  CHECK(trace_of(doc).warnings.empty());
}

TEST_CASE("cross-attention: K and V from their own rows, labelled with kv_tokens",
          "[masks][cross]") {
  json doc = tiny();
  doc["kv_input"] = json::parse("[[1, 0], [0, 2]]");
  doc["kv_tokens"] = {"je", "suis"};
  const Trace trace = trace_of(doc);
  CHECK(trace.config.q_len == 3);
  CHECK(trace.config.kv_len == 2);
  CHECK(trace.config.key_source == KeySource::kv_input);
  CHECK(trace.kv_tokens.front() == std::vector<std::string>{"je", "suis"});
  CHECK(tensor_names(trace, "input") == std::vector<std::string>{"X", "X_kv"});
  const Tensor& scores = tensor(trace, "scores", "scores");
  CHECK(scores.shape == std::vector<std::size_t>{3, 2});
  // scores = X·X_kvᵀ: [[1, 0], [0, 2], [1, 2]].
  CHECK(scores.data == std::vector<double>{1, 0, 0, 2, 1, 2});

  const std::string text = text_of(trace);
  CHECK_THAT(text, Contains("keys     je · suis"));
  CHECK_THAT(text, Contains("weights  none: Q = X, K = V = X_kv"));
  CHECK_THAT(text, Contains("L = 3 tokens · S = 2 keys"));
  CHECK_THAT(text, Contains("scores (3×2)   [query × key]"));
  CHECK_THAT(text, Contains("              je    suis"));
}

TEST_CASE("kdim and vdim: each projection reads its own width", "[masks][cross]") {
  json doc = tiny();
  doc["key_input"] = json::parse("[[1, 0, 1], [0, 1, 0]]");
  doc["value_input"] = json::parse("[[2], [4]]");
  doc["weights"] = {{"q_proj_weight", json::parse("[[1, 0], [0, 1]]")},
                    {"k_proj_weight", json::parse("[[1, 0, 0], [0, 0, 1]]")},
                    {"v_proj_weight", json::parse("[[1], [-1]]")}};
  const Spec spec = load(doc);
  CHECK(spec.key_dim() == 3);
  CHECK(spec.value_dim() == 1);
  const Trace trace = trace_attention(spec);
  // K = X_k·W_kᵀ picks columns 0 and 2; V = X_v·W_vᵀ = [[2, -2], [4, -4]].
  CHECK(tensor(trace, "projections", "K").data == std::vector<double>{1, 1, 0, 0});
  CHECK(tensor(trace, "projections", "V").data == std::vector<double>{2, -2, 4, -4});
  CHECK(trace.find_stage(StageId::projections)->formula ==
        "Q = X·W_qᵀ   K = X_k·W_kᵀ   V = X_v·W_vᵀ");
}

TEST_CASE("bias_k/bias_v and add_zero_attn append keys that are never blocked", "[masks][cross]") {
  json doc = tiny();
  doc["weights"] = {{"in_proj_weight", json::parse("[[1,0],[0,1],[1,0],[0,1],[1,0],[0,1]]")},
                    {"bias_k", json::parse("[[[0.5, -1]]]")},
                    {"bias_v", json::parse("[3, 4]")}};
  doc["add_zero_attn"] = true;
  doc["key_padding_mask"] = {true, true, true};  // every real key blocked
  const Trace trace = trace_of(doc);
  CHECK(trace.config.kv_len == 5);
  CHECK(trace.kv_tokens.front() ==
        std::vector<std::string>{"I", "am", "good", "<bias_kv>", "<zero_attn>"});
  const Tensor& K = tensor(trace, "extra_keys", "K");
  CHECK(K.shape == std::vector<std::size_t>{5, 2});
  CHECK(K.data == std::vector<double>{1, 0, 0, 1, 1, 1, 0.5, -1, 0, 0});
  const Tensor& V = tensor(trace, "extra_keys", "V");
  CHECK(V.data == std::vector<double>{1, 0, 0, 1, 1, 1, 3, 4, 0, 0});
  // key_padding_mask is (S) as given, the additive mask (L, S + 2).
  CHECK(tensor(trace, "masking", "key_padding_mask").shape == std::vector<std::size_t>{3});
  const Tensor& additive = tensor(trace, "masking", "additive_mask");
  CHECK(additive.shape == std::vector<std::size_t>{3, 5});
  CHECK(additive.data[3] == 0);
  CHECK(additive.data[4] == 0);
  CHECK(additive.data[0] == -inf);
  // Row 0: the only keys left are bias (score (1·0.5 + 0·(−1))/√2) and zero (score 0).
  const double s = 0.5 / std::sqrt(2.0);
  const Tensor& weights = tensor(trace, "softmax", "weights");
  CHECK(weights.data[3] == Approx(std::exp(s) / (std::exp(s) + 1)).epsilon(1e-15));
  CHECK(weights.data[4] == Approx(1 / (std::exp(s) + 1)).epsilon(1e-15));
  CHECK(trace.warnings.empty());
}

TEST_CASE("batched extra keys: the shape algebra ends in the extended shape", "[masks][cross]") {
  json doc = tiny();
  doc["input"] = {doc["input"], doc["input"]};  // two batches of the same three tokens
  doc["weights"] = {{"in_proj_weight", json::parse("[[1,0],[0,1],[1,0],[0,1],[1,0],[0,1]]")},
                    {"bias_k", json::parse("[0.5, -1]")},
                    {"bias_v", json::parse("[3, 4]")}};
  doc["add_zero_attn"] = true;
  const Trace trace = trace_of(doc);
  const Stage* stage = trace.find_stage(StageId::extra_keys);
  REQUIRE(stage != nullptr);
  CHECK(stage->tensors.at(0).shape == std::vector<std::size_t>{2, 5, 2});
  // Three keys become five in each of the two batches: (2×5×2), not the (2×3×2) given.
  CHECK(stage->shapes == "(3×2) → (5×2) each, for each of 2 batches → (2×5×2)");
}

TEST_CASE("bad masks and cross inputs name the field and the expected shape",
          "[masks][load][errors]") {
  json doc = tiny();
  SECTION("mask of the wrong shape") {
    doc["mask"] = json::parse("[[1, 0], [1, 1]]");
    require_error(doc,
                  "ex.json: mask: expected shape (L, S) = (3, 3), one row per query token (3) and "
                  "one column per key token (3), found (2, 2)");
  }
  SECTION("a (B, L, S) mask for unbatched input") {
    doc["mask"] = json::parse("[[[1, 0, 0], [1, 1, 0], [1, 1, 1]]]");
    require_error(doc, "mask: expected shape (L, S) = (3, 3)", "for batched input");
  }
  SECTION("0.5 in a keep-mask") {
    doc["mask"] = json::parse("[[1, 0, 0], [1, 0.5, 0], [1, 1, 1]]");
    require_error(doc,
                  "ex.json: mask[1][1]: expected 0 or 1 (1 = may attend, 0 = blocked), found a "
                  "number 0.5");
  }
  SECTION("booleans in a keep-mask point to attn_mask") {
    doc["mask"] = json::parse("[[true, false, false], [1, 1, 0], [1, 1, 1]]");
    require_error(doc, "mask[0][0]: expected 0 or 1",
                  "attn_mask's convention, where true = blocked");
  }
  SECTION("a misspelt causal") {
    doc["mask"] = "casual";
    require_error(doc,
                  "mask: expected \"causal\" or a 0/1 matrix (L, S) = (3, 3), found a string "
                  "\"casual\"");
  }
  SECTION("attn_mask of the wrong shape lists both shapes") {
    doc["num_heads"] = 2;
    doc["attn_mask"] = json::parse("[[[0, 1, 0], [1, 0, 0], [0, 0, 0]]]");
    require_error(doc, "attn_mask: expected shape (L, S) = (3, 3) or (H, L, S) = (2, 3, 3)");
  }
  SECTION("batched 3-D attn_mask is (B·H, L, S)") {
    json batched = {{"input", json::parse("[[[1, 0]], [[0, 1]]]")},
                    {"num_heads", 2},
                    {"attn_mask", json::parse("[[[false]], [[false]]]")}};
    require_error(batched, "attn_mask: expected shape (L, S) = (1, 1) or (B·H, L, S) = (4, 1, 1)");
  }
  SECTION("booleans and numbers mixed") {
    doc["attn_mask"] = json::parse("[[true, false, false], [1, 0, 0], [true, true, true]]");
    require_error(doc,
                  "attn_mask[1][0]: expected a boolean like attn_mask[0][0], found a number 1");
  }
  SECTION("+inf in attn_mask") {
    doc["attn_mask"] = json::parse(R"([[0, "inf", 0], [0, 0, 0], [0, 0, 0]])");
    require_error(doc, "attn_mask[0][1]: expected a number or \"-inf\"", "only \"-inf\" blocks");
  }
  SECTION("a ragged attn_mask") {
    doc["attn_mask"] = json::parse("[[true, false, false], [true, false], [true, true, true]]");
    require_error(doc, "attn_mask[1]: has 2 elements, the ones before it have 3");
  }
  SECTION("numbers in key_padding_mask point to mask") {
    doc["key_padding_mask"] = {0, 0, 1};
    require_error(doc,
                  "key_padding_mask[0]: expected true or false (true = that key is ignored), "
                  "found a number 0",
                  "use \"mask\"");
  }
  SECTION("key_padding_mask of the wrong shape") {
    doc["key_padding_mask"] = {false, true};
    require_error(doc, "key_padding_mask: expected shape (S) = (3), one per key token, found (2)");
  }
  SECTION("batched key_padding_mask is (B, S)") {
    json batched = {{"input", json::parse("[[[1, 0]], [[0, 1]]]")},
                    {"key_padding_mask", {false, true}}};
    require_error(batched, "key_padding_mask: expected shape (B, S) = (2, 1)");
  }
  SECTION("kv_tokens in self-attention") {
    doc["kv_tokens"] = {"a", "b", "c"};
    require_error(doc, "kv_tokens: given without kv_input or key_input/value_input");
  }
  SECTION("kv_tokens of the wrong length") {
    doc["kv_input"] = json::parse("[[1, 0]]");
    doc["kv_tokens"] = {"a", "b"};
    require_error(doc, "kv_tokens: expected 1 token label, one per row of kv_input, found 2");
  }
  SECTION("kv_input together with key_input") {
    doc["kv_input"] = json::parse("[[1, 0]]");
    doc["key_input"] = json::parse("[[1, 0]]");
    require_error(doc, "key_input: given with kv_input");
  }
  SECTION("key_input without value_input") {
    doc["key_input"] = json::parse("[[1, 0]]");
    require_error(doc, "value_input: missing: key_input and value_input come together");
  }
  SECTION("key and value inputs of different lengths") {
    doc["key_input"] = json::parse("[[1, 0]]");
    doc["value_input"] = json::parse("[[1, 0], [0, 1]]");
    require_error(doc, "value_input: expected 1 row, one per row of key_input, found 2");
  }
  SECTION("unbatched kv_input for batched input") {
    json batched = {{"input", json::parse("[[[1, 0]], [[0, 1]]]")},
                    {"kv_input", json::parse("[[1, 0]]")}};
    require_error(batched, "kv_input: expected a batch of 2 matrices (B, S, width) like input");
  }
  SECTION("another width without weights") {
    doc["kv_input"] = json::parse("[[1, 0, 2]]");
    require_error(doc, "kv_input: expected 2 columns like input (E = 2), found 3",
                  "give q_proj_weight (E, E), k_proj_weight (E, kdim)");
  }
  SECTION("in_proj_weight with kdim != E") {
    doc["kv_input"] = json::parse("[[1, 0, 2]]");
    doc["weights"] = {{"in_proj_weight", json::parse("[[1,0],[0,1],[1,0],[0,1],[1,0],[0,1]]")}};
    require_error(doc,
                  "weights.in_proj_weight: maps inputs of width E = 2 only, but kv_input has 3 "
                  "columns");
  }
  SECTION("k_proj_weight that does not read kdim") {
    doc["key_input"] = json::parse("[[1, 0, 2]]");
    doc["value_input"] = json::parse("[[1]]");
    doc["weights"] = {{"q_proj_weight", json::parse("[[1, 0], [0, 1]]")},
                      {"k_proj_weight", json::parse("[[1, 0], [0, 1]]")},
                      {"v_proj_weight", json::parse("[[1], [0]]")}};
    require_error(doc,
                  "weights.k_proj_weight: expected shape (2, 3) for kdim = 3 (the width of "
                  "key_input), with 2 outputs like q_proj_weight, found (2, 2)");
  }
  SECTION("bias_k without bias_v") {
    doc["weights"] = {{"bias_k", json::parse("[[[1, 2]]]")}};
    require_error(doc, "weights.bias_v: missing: bias_k and bias_v come together");
  }
  SECTION("bias_k of the wrong length") {
    doc["weights"] = {{"bias_k", {1, 2, 3}}, {"bias_v", {1, 2}}};
    require_error(doc,
                  "weights.bias_k: expected 2 numbers, one per column of K and V (or PyTorch's "
                  "shape (1, 1, 2)), found 3");
  }
  SECTION("add_zero_attn not a boolean") {
    doc["add_zero_attn"] = 1;
    require_error(doc, "add_zero_attn: expected true or false, found a number 1");
  }
}

TEST_CASE("the walkthrough marks blocked cells and shows booleans as given", "[masks][text]") {
  json doc = tiny();
  doc["mask"] = "causal";
  doc["key_padding_mask"] = {false, false, true};
  const std::string text = text_of(trace_of(doc));
  CHECK_THAT(text, Contains("masks    mask · key_padding_mask"));
  CHECK_THAT(text, Contains("━━ 5/8 · masking · Masking: blocked keys get −∞"));
  CHECK_THAT(text, Contains("−∞ marks a blocked cell"));
  // The keep-mask as 1/0, key_padding_mask as booleans, the additive form as 0/−∞.
  CHECK_THAT(text, Contains("    am    1   1     0\n"));
  CHECK_THAT(text, Contains("      false  false   true\n"));
  CHECK_THAT(text, Contains("    am     0   0    −∞\n"));
  CHECK_THAT(text, Contains("    am    0.0000  0.7071      −∞\n"));
  CHECK_THAT(text, Contains("weights[i,j] = exp(masked[i,j] − m_i)"));
}

TEST_CASE("the JSON export writes booleans as booleans and a rank-1 mask as one list",
          "[masks][json]") {
  json doc = tiny();
  doc["key_padding_mask"] = {false, false, true};
  doc["attn_mask"] =
      json::parse("[[false, true, false], [false, false, false], [false, false, false]]");
  std::ostringstream out;
  render_json(trace_of(doc), JsonOptions{}, out);
  const json exported = json::parse(out.str());
  CHECK(exported["config"]["masks"] == json({"attn_mask", "key_padding_mask"}));
  const json* masking = nullptr;
  for (const json& stage : exported["stages"]) {
    if (stage["id"] == "masking") masking = &stage;
  }
  REQUIRE(masking != nullptr);
  const json& tensors = (*masking)["tensors"];
  CHECK(tensors[0]["name"] == "attn_mask");
  CHECK(tensors[0]["data"] == json::parse("[[false, true, false], [false, false, false], "
                                          "[false, false, false]]"));
  CHECK(tensors[1]["name"] == "key_padding_mask");
  CHECK(tensors[1]["shape"] == json({3}));
  CHECK(tensors[1]["data"] == json({false, false, true}));
  CHECK(tensors[2]["data"][0] == json::parse(R"([0, "-inf", "-inf"])"));
}
