#!/usr/bin/env bash
# update-doc-samples.sh [BINARY [PAGE...]]
# Rewrites the sample output in README.md, docs/cli.md, docs/check.md and docs/tutorials/*.md (or in the PAGEs
# given) with what BINARY
# (default build/attn-trace) prints now. A sample is a ```console block whose first line is
# "$ attn-trace ARGS…": the lines after it, up to the closing fence, are replaced by what
# BINARY ARGS… prints, run from the repository root with nothing on standard input — its standard
# output, followed by its standard error when it fails with exit status 1 or 2 (a sample of an
# error message), or its standard output alone when `attn-trace check` exits 3 (the tensors
# differ, which is what a check sample shows). ARGS are plain words or 'single-quoted' text. tests/docs/check_samples.sh
# (ctest: docs.readme_samples, docs.cli_samples, docs.tutorials) fails until this is run after a
# change to what the tool prints. Works from any directory; PAGEs are relative to the caller's.
set -euo pipefail

binary=${1:-build/attn-trace}
# A relative BINARY or PAGE given by the caller is relative to the caller's directory.
if [ $# -ge 1 ] && [[ $binary == */* && $binary != /* ]]; then binary=$PWD/$binary; fi
pages=()
if [ $# -ge 2 ]; then
  for page in "${@:2}"; do [[ $page == /* ]] && pages+=("$page") || pages+=("$PWD/$page"); done
fi
cd "$(dirname "$0")/.."
[ ${#pages[@]} -gt 0 ] || pages=(README.md docs/cli.md docs/check.md docs/tutorials/*.md)
[ -x "$binary" ] || command -v "$binary" >/dev/null ||
  { echo "update-doc-samples: $binary is not an executable (build it with: cmake --build build)" >&2; exit 1; }

work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

p=0
for page in "${pages[@]}"; do
  [ -r "$page" ] || { echo "update-doc-samples: $page: cannot read" >&2; exit 1; }
  p=$((p + 1)) && dir=$work/$p && mkdir -p "$dir"
  count=$(awk -v dir="$dir" -f tools/doc-samples.awk "$page") ||
    { echo "update-doc-samples: $page: a \`\`\` block is never closed" >&2; exit 1; }
  [ "$count" -gt 0 ] || echo "update-doc-samples: $page: no sample (tests/docs/check_samples.sh fails on it)" >&2
  for ((n = 1; n <= count; n++)); do
    where="$page:$(<"$dir/$n.line")"
    command_line=$(<"$dir/$n.cmd")
    if [ -f "$dir/$n.bad" ]; then
      echo "update-doc-samples: $where: '$command_line': $(<"$dir/$n.bad")" >&2
      exit 1
    fi
    mapfile -t args <"$dir/$n.args"
    status=0
    "$binary" "${args[@]}" </dev/null >"$dir/$n.stdout" 2>"$dir/$n.stderr" || status=$?
    case $status in
      0) awk '{ print }' "$dir/$n.stdout" >"$dir/$n.out" ;;
      3) if [ "${args[0]:-}" != check ]; then  # only check exits 3: its tensors differ
           echo "update-doc-samples: $where: '$command_line' exits with status 3:" >&2
           cat "$dir/$n.stderr" >&2
           exit 1
         fi
         awk '{ print }' "$dir/$n.stdout" >"$dir/$n.out" ;;
      1 | 2)
        { awk '{ print }' "$dir/$n.stdout"; awk '{ print }' "$dir/$n.stderr"; } >"$dir/$n.out"
        echo "$where: '$command_line' exits with status $status: the sample shows its error" ;;
      *)
        echo "update-doc-samples: $where: '$command_line' exits with status $status:" >&2
        cat "$dir/$n.stderr" >&2
        exit 1 ;;
    esac
  done
  # Same walk as tools/doc-samples.awk: print everything, but under sample n print DIR/n.out
  # instead of the lines the page had.
  awk -v dir="$dir" '
    !in_fence && /^```/ { in_fence = 1; first = 1; console = ($0 ~ /^```console[[:space:]]*$/); print; next }
    in_fence && /^```[[:space:]]*$/ { in_fence = 0; skipping = 0; print; next }
    in_fence && first {
      first = 0
      if (console && $0 ~ /^\$ attn-trace( |$)/) {
        n++; print; file = dir "/" n ".out"
        while ((getline line < file) > 0) print line
        close(file); skipping = 1; next
      }
    }
    !skipping { print }' "$page" >"$page.new"
  if cmp -s "$page" "$page.new"; then
    rm "$page.new"
    echo "$page: $count sample(s), unchanged"
  else
    mv "$page.new" "$page"
    echo "$page: $count sample(s) updated"
  fi
done
