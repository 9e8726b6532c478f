// The Markdown walkthrough and the TeX of its formulas: what a teacher pastes into notes. Tables
// and numbers are checked against cmark-gfm's reading in tests/markdown/; here, the TeX of each
// formula, the escaping of what users write, --no-header, and the published-value checks.
#include <sstream>

#include <catch2/catch.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/markdown.hpp"
#include "attn_trace/teach/compare_published.hpp"
#include "tex_math.hpp"

using namespace attn_trace;
using Catch::Contains;
using walkthrough::formula_tex;

namespace {

std::string markdown_of(const std::string& example, TextOptions options = {}) {
  const Spec spec = load_spec(std::string(find_example(example)->json), example + ".json");
  Trace trace = trace_attention(spec);
  trace.published = check_published(spec.published, trace, example);
  std::ostringstream out;
  render_markdown(trace, options, out);
  return out.str();
}

}  // namespace

TEST_CASE("formulas become TeX that reads as the tutorials write it", "[markdown][tex]") {
  CHECK(formula_tex("scores_h = Q_h·K_hᵀ") == "\\mathrm{scores}_{h}=Q_{h}\\cdot K_{h}^{\\top}");
  CHECK(formula_tex("Q = X·W_qᵀ + b_q   K = X·W_kᵀ + b_k") ==
        "Q=X\\cdot W_{q}^{\\top}+b_{q}\\qquad K=X\\cdot W_{k}^{\\top}+b_{k}");
  CHECK(formula_tex("scaled = scores × 1/√d = scores × 1/√2 = scores × 0.707107") ==
        "\\mathrm{scaled}=\\mathrm{scores}\\times 1/\\sqrt{d}=\\mathrm{scores}\\times 1/\\sqrt{2}="
        "\\mathrm{scores}\\times 0.707107");
  CHECK(formula_tex("weights[i,j] = exp(masked[i,j] − m_i) / Σ_k exp(masked[i,k] − m_i)") ==
        "\\mathrm{weights}[i,j]=\\exp(\\mathrm{masked}[i,j]-m_{i})/\\sum_{k}\\exp(\\mathrm{masked}"
        "[i,k]-m_{i})");
  // English words are text, with their spaces; variables between them stay math.
  CHECK(formula_tex("X = one row of E = 2 numbers per token") ==
        "X=\\text{ one row of }E=2\\text{ numbers per token }");
  CHECK(formula_tex("M[i,j] = 0 where query i may attend key j, −∞ where it is blocked") ==
        "M[i,j]=0\\text{ where query }i\\text{ may attend key }j,\\ -\\infty \\text{ where it "
        "is blocked }");
  // No space inside brackets or before punctuation; one after a comma or semicolon.
  CHECK(formula_tex("X = one row per token; X_kv = its keys (the source of K and V)") ==
        "X=\\text{ one row per token};\\ X_{kv}=\\text{ its keys }(\\text{the source of }K"
        "\\text{ and }V)");
  CHECK(formula_tex("with d = 3; likewise K_h, V_h") ==
        "\\text{with }d=3;\\text{ likewise }K_{h},\\ V_{h}");
  CHECK(formula_tex("context = [context_0 | context_1]") ==
        "\\mathrm{context}=[\\mathrm{context}_{0}\\mid \\mathrm{context}_{1}]");
  CHECK(formula_tex("K ← [K; bias_k]") == "K\\leftarrow [K;\\ \\mathrm{bias\\_k}]");
  CHECK(formula_tex("weighted[i,j,:] = weights[i,j] · V[j,:]") ==
        "\\mathrm{weighted}[i,j,:]=\\mathrm{weights}[i,j]\\cdot V[j,:]");
  // What TeX treats specially is escaped; what it has no command for becomes "?".
  CHECK(formula_tex("a{b}%#&$~^\\") == "\\text{a }\\{b\\}\\%\\#\\&\\$\\sim \\hat{}\\backslash ");
  CHECK(formula_tex("x ∂ y") == "x?y");
  CHECK(formula_tex("scaled × 1 (scale \"none\": no scaling)") ==
        "\\mathrm{scaled}\\times 1(\\text{scale \"none\"}:\\text{ no scaling})");
}

TEST_CASE("the Markdown walkthrough: header, stages, formulas as math, tables", "[markdown]") {
  const std::string md = markdown_of("i-am-good");
  CHECK(md.starts_with("# attn-trace · I am good\n\n"));
  CHECK_THAT(md, Contains("- **sizes**: L = 3 tokens · E = 2 · H = 1 head · d = 2\n"));
  CHECK_THAT(md, Contains("## 3/8 · `scores` · Attention scores: every query against every key"));
  CHECK_THAT(md, Contains("\n$\\mathrm{scores}=Q\\cdot K^{\\top}$\n"));
  CHECK_THAT(md, Contains("| | I | am | good |\n|---|--:|--:|--:|\n"));
  CHECK_THAT(md, Contains("## Summary"));
  CHECK_THAT(md, Contains("- **good** → "));

  TextOptions no_header;
  no_header.header = false;
  CHECK(markdown_of("i-am-good", no_header).starts_with("## 1/8 · `input`"));
}

TEST_CASE("Markdown shows the checks against a tutorial's published numbers", "[markdown]") {
  const std::string md = markdown_of("karim");
  CHECK_THAT(md, Contains("✓ Q matches the published values (to 0 decimals)"));
  CHECK_THAT(md, Contains("✗ weights differs from the published values (to 1 decimal) in 1 of 9 "
                          "numbers:\n- \\[0,0\\] published"));
}
