#!/usr/bin/env bash
# docs/latex.md's beamer deck, as a teacher would make it: the page's attn-trace commands run in an
# empty folder, its ```latex file saved as slides.tex, pdflatex must compile it without an error,
# and the slides must show both stages' numbers.
#   check_doc_beamer.sh ATTN_TRACE DOCS/LATEX.MD
set -euo pipefail
bin=$1 page=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^```latex$/ {on = 1; next} /^```$/ {on = 0} on' "$page" >"$work/slides.tex"
grep -q 'documentclass' "$work/slides.tex" || { echo "FAIL: no \`\`\`latex deck in $page"; exit 1; }
cd "$work"
grep -h '^attn-trace run .*--latex-fragment' "$page" | sort -u | while read -r _ args; do
  # shellcheck disable=SC2086  # the page's words, split as a shell would
  "$bin" $args
done
[ -s scores.tex ] && [ -s softmax.tex ] || { echo "FAIL: the page's commands wrote no fragments"; exit 1; }
if ! pdflatex -interaction=nonstopmode -halt-on-error -no-shell-escape slides.tex >/dev/null 2>&1; then
  grep -A3 '^!' slides.log | head -20
  echo "FAIL: the deck of $page does not compile"
  exit 1
fi
text=$(pdftotext slides.pdf -)
# Nothing cut off at a frame's bottom: every head's table is there, and no frame overflows.
if grep -q 'Overfull \\vbox' slides.log; then
  grep 'Overfull \\vbox' slides.log | head -3
  echo "FAIL: a frame of the deck overflows: part of it is cut off"
  exit 1
fi
for want in "scores" "weights" "0.4821" "0.5669" "0.1353" "0.2360"; do
  grep -qF -- "$want" <<<"$text" || { echo "FAIL: the slides do not show $want"; exit 1; }
done
echo "ok: the deck of $page compiles ($(pdfinfo slides.pdf | awk '/^Pages/ {print $2}') slides)"
