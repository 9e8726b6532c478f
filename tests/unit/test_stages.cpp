// Each stage function on matrices small enough to check by hand, with the tutorials' own numbers
// where they give them.
#include <cmath>

#include <catch2/catch.hpp>

#include "attn_trace/core/stages.hpp"

using namespace attn_trace;

namespace {
// These are hand computations in double precision: they agree to the last few bits.
Approx exactly(double value) {
  return Approx(value).epsilon(1e-13);
}
}  // namespace

namespace {
Matrix rows(std::initializer_list<std::initializer_list<double>> values) {
  Matrix m(static_cast<Index>(values.size()), static_cast<Index>(values.begin()->size()));
  Index i = 0;
  for (const auto& row : values) {
    Index j = 0;
    for (double v : row) m(i, j++) = v;
    ++i;
  }
  return m;
}
}  // namespace

TEST_CASE("project computes x·Wᵀ + b with W stored (out, in)", "[stages]") {
  // The default example's input and W_q, b_q: Q[0,0] = 0.2×0.5 + 0.1×(−0.3) + 0.1 = 0.17.
  const Matrix x = rows({{0.2, 0.1}, {0.9, 0.4}, {0.7, 0.8}});
  Linear q{rows({{0.5, -0.3}, {0.2, 0.8}}), Vector(2)};
  *q.bias << 0.1, -0.1;
  const Matrix out = project(x, q);
  REQUIRE(out.rows() == 3);
  REQUIRE(out.cols() == 2);
  CHECK(out(0, 0) == exactly(0.2 * 0.5 + 0.1 * -0.3 + 0.1));
  CHECK(out(0, 1) == exactly(0.2 * 0.2 + 0.1 * 0.8 - 0.1));
  CHECK(out(1, 0) == exactly(0.9 * 0.5 + 0.4 * -0.3 + 0.1));
  CHECK(out(1, 1) == exactly(0.9 * 0.2 + 0.4 * 0.8 - 0.1));
  CHECK(out(2, 0) == exactly(0.7 * 0.5 + 0.8 * -0.3 + 0.1));
  CHECK(out(2, 1) == exactly(0.7 * 0.2 + 0.8 * 0.8 - 0.1));

  SECTION("without a bias") {
    q.bias.reset();
    CHECK(project(x, q)(2, 1) == exactly(0.7 * 0.2 + 0.8 * 0.8));
  }
  SECTION("to a different width (4 inputs → 3 outputs, as the blog posts' W is 4×3)") {
    // makeesy's x·w_query with w_query (in, out); stored (out, in) it is the transpose.
    const Matrix x4 = rows({{1, 0, 1, 0}, {0, 2, 2, 2}, {1, 1, 1, 1}});
    const Matrix w_query = rows({{0, 0, 1}, {1, 1, 0}, {0, 1, 0}, {1, 1, 0}});
    const Matrix query = project(x4, Linear{w_query.transpose(), std::nullopt});
    CHECK(query == rows({{0, 1, 1}, {4, 6, 0}, {2, 3, 1}}));  // the Q the video states
  }
}

TEST_CASE("head_slice takes columns h·d … (h+1)·d − 1", "[stages]") {
  const Matrix q = rows({{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}});
  CHECK(head_slice(q, 0, 2) == rows({{1, 2}, {5, 6}, {9, 10}}));
  CHECK(head_slice(q, 1, 2) == rows({{3, 4}, {7, 8}, {11, 12}}));
  CHECK(head_slice(q, 3, 1) == rows({{4}, {8}, {12}}));
}

TEST_CASE("attention_scores is Q·Kᵀ", "[stages]") {
  // Raimi Karim's "Illustrated: Self-Attention": these Q and K give these scores.
  const Matrix q = rows({{1, 0, 2}, {2, 2, 2}, {2, 1, 3}});
  const Matrix k = rows({{0, 1, 1}, {4, 4, 0}, {2, 3, 1}});
  CHECK(attention_scores(q, k) == rows({{2, 4, 4}, {4, 16, 12}, {4, 12, 10}}));

  SECTION("queries and keys of different lengths give (L, S)") {
    const Matrix s = attention_scores(q.topRows(2), k);
    CHECK(s.rows() == 2);
    CHECK(s.cols() == 3);
    CHECK(s(1, 2) == 12);
  }
}

TEST_CASE("the multi-head tutorial's normalised attention values", "[stages]") {
  // The multi-head tutorial: query = key = [1, 2, 3, 4, 5, 6]; two heads give (1 + 4 + 9)/√3 for
  // head 0, three heads give (1 + 4)/√2.
  const Matrix qk = rows({{1, 2, 3, 4, 5, 6}});
  const Matrix two_heads = attention_scores(head_slice(qk, 0, 3), head_slice(qk, 0, 3));
  CHECK(scale_scores(two_heads, 1 / std::sqrt(3.0))(0, 0) == exactly((1 + 4 + 9) / std::sqrt(3.0)));
  const Matrix second = attention_scores(head_slice(qk, 1, 3), head_slice(qk, 1, 3));
  CHECK(second(0, 0) == 16 + 25 + 36);
  const Matrix three_heads = attention_scores(head_slice(qk, 0, 2), head_slice(qk, 0, 2));
  CHECK(scale_scores(three_heads, 1 / std::sqrt(2.0))(0, 0) == exactly((1 + 4) / std::sqrt(2.0)));
}

TEST_CASE("scale_scores multiplies every score", "[stages]") {
  const Matrix s = rows({{2, 4}, {-6, 8}});
  CHECK(scale_scores(s, 0.5) == rows({{1, 2}, {-3, 4}}));
  CHECK(scale_scores(s, 1.0) == s);
}

TEST_CASE("softmax_rows normalises each row with the max subtracted", "[stages]") {
  const Matrix weights = softmax_rows(rows({{2, 4, 4}, {0, 0, 0}}));
  const double denominator = std::exp(2.0) + 2 * std::exp(4.0);
  CHECK(weights(0, 0) == exactly(std::exp(2.0) / denominator));
  CHECK(weights(0, 1) == exactly(std::exp(4.0) / denominator));
  CHECK(weights(0, 2) == exactly(std::exp(4.0) / denominator));
  CHECK(weights(1, 0) == exactly(1.0 / 3));
  CHECK(weights.row(0).sum() == exactly(1.0));

  SECTION("large scores do not overflow") {
    const Matrix big = softmax_rows(rows({{1000, 1001}}));
    CHECK(big(0, 0) == exactly(1 / (1 + std::exp(1.0))));
    CHECK(big(0, 1) == exactly(std::exp(1.0) / (1 + std::exp(1.0))));
  }
  SECTION("a key far below the row max gets exactly 0, as in PyTorch") {
    const Matrix far = softmax_rows(rows({{0, -800, -1e300}}));
    CHECK(far(0, 0) == 1.0);
    CHECK(far(0, 1) == 0.0);
    CHECK(far(0, 2) == 0.0);
  }
  SECTION("a single key gets all the weight") {
    CHECK(softmax_rows(rows({{-3.5}})) == rows({{1}}));
  }
}

TEST_CASE("weighted_values scales value row j by weights[i,j]", "[stages]") {
  const Matrix weights = rows({{0.25, 0.75}, {1, 0}});
  const Matrix v = rows({{1, 2, 3}, {4, 5, 6}});
  const Matrix first = weighted_values(weights.row(0), v);
  const Matrix second = weighted_values(weights.row(1), v);
  CHECK(first == rows({{0.25, 0.5, 0.75}, {3, 3.75, 4.5}}));
  CHECK(second == rows({{1, 2, 3}, {0, 0, 0}}));

  SECTION("weighted_sum adds each query's weighted rows up") {
    const Matrix context = weighted_sum(weights, v);
    CHECK(context == rows({{3.25, 4.25, 5.25}, {1, 2, 3}}));
    CHECK(context.row(0) == first.colwise().sum());
    CHECK(context.row(1) == second.colwise().sum());
  }
}

TEST_CASE("merge_heads puts the heads side by side", "[stages]") {
  const Matrix h0 = rows({{1, 2}, {3, 4}});
  const Matrix h1 = rows({{5, 6}, {7, 8}});
  CHECK(merge_heads({h0, h1}) == rows({{1, 2, 5, 6}, {3, 4, 7, 8}}));
  CHECK(merge_heads({h0}) == h0);
}
