#!/usr/bin/env bash
# check_tutorials.sh BINARY REPO_ROOT
# docs/tutorials/ holds one page per bundled example, data/examples/NAME.json ↔
# docs/tutorials/NAME.md, all linked from docs/tutorials/README.md. The pages show real output,
# checked by check_samples.sh: a ```console block whose first line is "$ attn-trace ARGS…" holds,
# up to its closing fence, exactly what BINARY ARGS… prints. This fails, listing every problem at
# once, when an example has no page, the index does not link a page, the index links a page that
# does not exist, a page belongs to no example, or a page's samples are missing or differ from
# what BINARY prints now (tools/update-doc-samples.sh rewrites the samples).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: check_tutorials.sh BINARY REPO_ROOT" >&2; exit 2; }
binary=$1 root=$2
here=$(cd "$(dirname "$0")" && pwd)
if [[ $binary == */* && $binary != /* ]]; then binary=$PWD/$binary; fi
[ -x "$binary" ] || command -v "$binary" >/dev/null || { echo "FAIL: $binary is not an executable"; exit 1; }
cd "$root"
tutorials=docs/tutorials index=docs/tutorials/README.md

problems=0
fail() { echo "FAIL: $*"; problems=$((problems + 1)); }

# Every example has a page, and the index links it.
missing=() unlinked=()
for json in data/examples/*.json; do
  [ -e "$json" ] || continue
  name=$(basename "$json" .json)
  [ -f "$tutorials/$name.md" ] || missing+=("$tutorials/$name.md (for $json)")
  [ ! -f "$index" ] || grep -qF "]($name.md)" "$index" || unlinked+=("$name.md")
done
if [ ${#missing[@]} -gt 0 ]; then
  fail "${#missing[@]} example(s) without a tutorial page:"
  printf '        %s\n' "${missing[@]}"
fi
[ -f "$index" ] || fail "no index $index"
[ ${#unlinked[@]} -eq 0 ] ||
  fail "the index $index does not link ${#unlinked[@]} page(s): ${unlinked[*]} (a link is \"](NAME.md)\")"

# Every page belongs to an example, and every page the index links exists.
for page in "$tutorials"/*.md; do
  [ -e "$page" ] || continue
  name=$(basename "$page" .md)
  [ "$name" = README ] || [ -f "data/examples/$name.json" ] ||
    fail "$page is the page of no example: there is no data/examples/$name.json"
done
if [ -f "$index" ]; then
  while IFS= read -r link; do
    target=${link#"]("} && target=${target%")"}
    [ -f "$tutorials/$target" ] || fail "the index $index links $target, which does not exist"
  done < <(grep -oE '\]\([A-Za-z0-9._-]+\.md\)' "$index" | sort -u)
fi

# Every page's samples (the index's too) are what BINARY prints now; each page has one at least.
pages=()
for page in "$tutorials"/*.md; do [ -e "$page" ] && pages+=("$page"); done
if [ ${#pages[@]} -eq 0 ]; then
  fail "no page in $tutorials: nothing was checked"
elif ! bash "$here/check_samples.sh" "$binary" "${pages[@]}"; then
  problems=$((problems + 1))
fi
if [ "$problems" -gt 0 ]; then
  echo "$problems problem(s) in $tutorials. A new example needs a page linked from $index;"
  echo "after a change to the walkthrough or an example, run: tools/update-doc-samples.sh $binary"
  exit 1
fi
echo "ok: ${#pages[@]} pages in $tutorials (one per example and the index), their samples real"
