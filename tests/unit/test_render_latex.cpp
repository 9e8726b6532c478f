// The LaTeX walkthrough: what a teacher compiles into notes or slides. Compiling and reading the
// PDF back is tests/latex/'s; here, the escaping of what users write, the fragment, --no-header,
// the shading of the four attention tables, and the numbers.
#include <sstream>

#include <catch2/catch.hpp>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/examples.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/latex.hpp"
#include "tex_math.hpp"

using namespace attn_trace;
using Catch::Contains;
using walkthrough::tex_text;

namespace {

std::string latex_of(const std::string& input, TextOptions options = {}, LatexOptions latex = {}) {
  const auto example = find_example(input);
  const Spec spec = load_spec(example ? std::string(example->json) : input, "test.json");
  std::ostringstream out;
  render_latex(trace_attention(spec), options, latex, out);
  return out.str();
}

}  // namespace

TEST_CASE("tex_text prints what a user wrote literally: nothing runs", "[latex]") {
  CHECK(tex_text("\\input{/etc/passwd}") ==
        "\\textbackslash{}input\\{/\\allowbreak{}etc/\\allowbreak{}passwd\\}");
  CHECK(tex_text("$ & # _ % ~ ^") == "\\$ \\& \\# \\_ \\% \\textasciitilde{} \\textasciicircum{}");
  CHECK(tex_text("<a|b> \"q\" `t`") ==
        "\\textless{}a\\textbar{}b\\textgreater{} \\textquotedbl{}q\\textquotedbl{} "
        "\\textasciigrave{}t\\textasciigrave{}");
  // A line break or a control character cannot end a command or a table row.
  CHECK(tex_text("a\nb\x01") == "a b");
  // The walkthrough's Unicode as commands; Latin-1 letters as they are; anything else "?".
  CHECK(tex_text("L = 3 · E × 2 → −∞") ==
        "L = 3 \\textperiodcentered{} E \\texttimes{} 2 \\ensuremath{\\to} "
        "\\ensuremath{-}\\ensuremath{\\infty}");
  CHECK(tex_text("café") == "café");
  CHECK(tex_text("好😀ħ") == "?{}?{}?{}");
  // A word too long for a line may break; the quotes T1 would join with a "?" stay apart.
  CHECK(tex_text(std::string(30, 'a')) ==
        std::string(24, 'a') + "\\allowbreak{}" + std::string(6, 'a'));
  CHECK(tex_text("?“x” € °") == "?\\textquotedblleft{}x\\textquotedblright{} \\texteuro{} °");
  // A number stays whole; a long name may break after its dots.
  CHECK(tex_text("-0.4016") == "\\textminus{}0.4016");
  // What T1 fonts would join prints as written: "--full" is not "–full", '' is not ”.
  CHECK(tex_text("--full ''q'' ,,") ==
        "-{}-full \\textquotesingle{}\\textquotesingle{}q\\textquotesingle{}"
        "\\textquotesingle{} ,{}\\allowbreak{},");
  CHECK(tex_text("łąka Ș α Ω") == "łąka Ș \\ensuremath{\\alpha} \\ensuremath{\\Omega}");
  CHECK(tex_text("nn.Linear") == "nn.\\allowbreak{}Linear");
}

TEST_CASE("the LaTeX document: preamble, headings, formulas, shaded tables", "[latex]") {
  const std::string tex = latex_of("i-am-good");
  CHECK_THAT(tex, Contains("\\documentclass[11pt]{article}"));
  CHECK_THAT(tex, Contains("\\section*{attn-trace \\textperiodcentered{} I am good}"));
  CHECK_THAT(tex, Contains("\\subsection*{3/8 \\textperiodcentered{} \\texttt{scores} "
                           "\\textperiodcentered{} Attention scores: every query against every "
                           "key}"));
  const std::string fit = "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{";
  CHECK_THAT(tex, Contains(fit + "$\\displaystyle \\mathrm{scores}=Q\\cdot K^{\\top}$}"));
  // The projections' three formulas on three lines.
  CHECK_THAT(tex, Contains(fit + "$\\displaystyle Q=X\\cdot W_{q}^{\\top}+b_{q}$}\\\\\n" + fit +
                           "$\\displaystyle K=X"));
  // Q's first row, unshaded; the weights shaded, with their legend.
  CHECK_THAT(tex, Contains("\\textbf{I} & 0.1700 & 0.0200"));
  CHECK_THAT(tex, Contains("weights 0 \\ensuremath{\\to} 1"));
  CHECK_THAT(tex, Contains("\\cellcolor[RGB]{"));
  CHECK(tex.ends_with("\\end{document}\n"));
}

TEST_CASE("a LaTeX fragment (--latex-fragment) is the body alone, naming the preamble it needs",
          "[latex]") {
  TextOptions options;
  options.header = false;
  const std::string tex = latex_of("i-am-good", options, LatexOptions{.fragment = true});
  CHECK(tex.starts_with("% attn-trace: the body of a LaTeX document (--latex-fragment)."));
  CHECK_THAT(tex, Contains("%   \\usepackage[table]{xcolor}\n"));
  CHECK_THAT(tex, !Contains("\n\\documentclass"));
  CHECK_THAT(tex, !Contains("\\begin{document}"));
  CHECK_THAT(tex, !Contains("\\end{document}"));
  CHECK_THAT(tex, !Contains("attn-trace \\textperiodcentered{} I am good"));  // --no-header
  // Pasted into a beamer frame that is not [fragile], a # would break it: the body defines nothing.
  CHECK(tex.substr(tex.find("\n\n")).find('#') == std::string::npos);
  CHECK_THAT(tex,
             Contains("\\bigskip{\\large\\bfseries 1/8 \\textperiodcentered{} \\texttt{input}"));
}

TEST_CASE("a masked trace marks its blocked cells in the legend and the table", "[latex]") {
  const std::string tex = latex_of("multihead");
  CHECK_THAT(tex, Contains("\\colorbox[RGB]{190,30,45}{\\textcolor{white}{\\ensuremath{-\\infty}}} "
                           "blocked"));
  CHECK_THAT(tex, Contains("\\cellcolor[RGB]{190,30,45}\\textcolor{white}{\\bfseries "
                           "\\ensuremath{-}\\ensuremath{\\infty}}"));
}
