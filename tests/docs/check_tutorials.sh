#!/usr/bin/env bash
# check_tutorials.sh BINARY REPO_ROOT
# docs/tutorials/ holds one page per bundled example, data/examples/NAME.json ↔
# docs/tutorials/NAME.md, all linked from docs/tutorials/README.md. The pages show real output:
# a ```console block whose first line is "$ attn-trace ARGS…" holds, up to its closing fence,
# exactly what BINARY ARGS… prints. This fails, listing every problem at once, when an example
# has no page, the index does not link a page, the index links a page that does not exist, a
# page belongs to no example, or a sample differs from what BINARY prints now
# (tools/update-tutorials.sh rewrites the samples).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: check_tutorials.sh BINARY REPO_ROOT" >&2; exit 2; }
binary=$1 root=$2
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

# Every sample is what BINARY prints now.
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
samples=0
for page in "$tutorials"/*.md; do
  [ -e "$page" ] || continue
  dir=$work/$(basename "$page" .md) && mkdir -p "$dir"
  if ! count=$(awk -v dir="$dir" -f "$root/tools/tutorial-samples.awk" "$page"); then
    fail "$page: a \`\`\` block is never closed"
    continue
  fi
  # A page of an example shows the tool's real output at least once.
  if [ "$count" -eq 0 ] && [ "$(basename "$page")" != README.md ]; then
    fail "$page: no sample (a \`\`\`console block starting \"\$ attn-trace …\"): a page shows real output"
  fi
  for ((n = 1; n <= count; n++)); do
    samples=$((samples + 1))
    command_line=$(<"$dir/$n.cmd")
    where="$page:$(<"$dir/$n.line")"
    rest=${command_line#\$ attn-trace}
    case $rest in
      *[\'\"\\\`\$\|\<\>\;\&\*\?]*)
        fail "$where: '$command_line' has quotes or shell syntax; a sample's arguments are plain words"
        continue ;;
    esac
    read -r -a args <<<"$rest"
    status=0
    "$binary" "${args[@]}" 2>"$dir/$n.err" | awk '{ print }' >"$dir/$n.actual" || status=$?
    if [ "$status" -ne 0 ]; then
      fail "$where: '$command_line' exits with status $status:"
      sed 's/^/        /' "$dir/$n.err"
    elif ! cmp -s "$dir/$n.expected" "$dir/$n.actual"; then
      fail "$where: the sample of '$command_line' differs from what $binary prints now:"
      diff -u --label "$page (the page)" --label "$command_line (now)" \
        "$dir/$n.expected" "$dir/$n.actual" || true
    fi
  done
done

[ "$samples" -gt 0 ] || fail "no sample in any page of $tutorials: nothing was checked"
if [ "$problems" -gt 0 ]; then
  echo "$problems problem(s) in $tutorials. A new example needs a page linked from $index;"
  echo "after a change to the walkthrough or an example, run: tools/update-tutorials.sh $binary"
  exit 1
fi
echo "ok: $(find "$tutorials" -maxdepth 1 -name '*.md' | wc -l) pages in $tutorials, $samples samples match '$binary'"
