#!/usr/bin/env bash
# Every stage's formula as the Markdown writes it ($…$, tex_math.cpp) is TeX that compiles: the
# formulas of every bundled example and of the inputs below (masks, cross-attention, extra keys,
# batches, a custom scale) typeset by pdflatex with amsmath, with no error and no missing
# character.
#   check_formulas.sh ATTN_TRACE TESTS-DIR
set -euo pipefail
bin=$1 tests=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inputs=($("$bin" examples | awk 'NF > 1 && $1 !~ /^attn-trace/ {print $1}'))
inputs+=("$tests"/json/inputs/*.json "$tests"/cli/inputs/two_heads.json "$tests"/markdown/hostile.json)
{
  echo '\documentclass{article}\usepackage{amsmath}\begin{document}'
  for input in "${inputs[@]}"; do
    "$bin" run "$input" --format markdown --no-header 2>/dev/null | grep '^\$.*\$$' |
      sed 's/^\$/\\[/; s/\$$/\\]/'
  done
  echo '\end{document}'
} >"$work/formulas.tex"
count=$(grep -c '^\\\[' "$work/formulas.tex")
[ "$count" -ge 60 ] || { echo "only $count formulas found"; exit 1; }
if ! (cd "$work" && pdflatex -interaction=nonstopmode -halt-on-error -no-shell-escape \
        formulas.tex >/dev/null 2>&1); then
  grep -A5 '^!' "$work/formulas.log" | head -30
  echo "FAILED: the formulas do not compile (tex_math.cpp)"
  exit 1
fi
if grep -q 'Missing character' "$work/formulas.log"; then
  grep 'Missing character' "$work/formulas.log" | head
  exit 1
fi
echo "ok: $count formulas of ${#inputs[@]} inputs compile"
