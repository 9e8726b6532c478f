// A stage's formula as TeX math, for the formats whose readers typeset it: Markdown's $…$ (GitHub,
// Jupyter) and LaTeX. The trace writes its formulas in Unicode as the tutorials print them
// ("scores_h = Q_h·K_hᵀ", "weights_h[i,j] = exp(masked_h[i,j] − m_i) / Σ_k exp(…)"), words and all
// ("X = one row of E = 2 numbers per token"); this turns them into math that reads the same.
#pragma once

#include <string>
#include <string_view>

namespace attn_trace::walkthrough {

// `formula` (one of core/stage_words.cpp's) as TeX math, without the surrounding $: tensor names
// upright (\mathrm{scores}), subscripts braced (W_{q}), ᵀ as ^{\top}, · × − ∞ √ Σ … ⊙ → ← ≤ as
// their commands, runs of English words as \text{…}, and runs of spaces (the formulas' separators)
// as \qquad. Every character TeX treats specially is escaped; a character it has no command for
// is left out of the math and replaced by "?", so the result always compiles.
[[nodiscard]] std::string formula_tex(std::string_view formula);

// Text a user or the trace wrote, as LaTeX text that prints it literally: every character TeX
// treats specially (\ { } $ & # ^ _ % ~, and < > | " which T1 fonts set oddly) escaped, so that a
// token like "\input{/etc/passwd}" prints as text and nothing runs; the walkthrough's Unicode (· ×
// → − ∞ √ Σ ᵀ … ⋮ ✓ ✗ ≤ ⊙ ←) as commands; accented Latin letters as they are (pdflatex's utf8 input
// takes them); any other character as "?", so that the document always compiles.
[[nodiscard]] std::string tex_text(std::string_view text);

}  // namespace attn_trace::walkthrough
