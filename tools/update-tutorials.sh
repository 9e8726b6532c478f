#!/usr/bin/env bash
# update-tutorials.sh [BINARY]
# Rewrites the sample output in docs/tutorials/*.md with what BINARY (default build/attn-trace)
# prints now. A sample is a ```console block whose first line is "$ attn-trace ARGS…": the lines
# after it, up to the closing fence, are replaced by the standard output of BINARY ARGS…, run
# from the repository root. ARGS are words separated by spaces, with no quotes, pipes or
# redirections. tests/docs/check_tutorials.sh fails until this is run after a change to the
# walkthrough or to a bundled example. Works from any directory.
set -euo pipefail

binary=${1:-build/attn-trace}
# A relative BINARY given by the caller is relative to the caller's directory, not to the root.
if [ $# -ge 1 ] && [[ $binary == */* && $binary != /* ]]; then binary=$PWD/$binary; fi
cd "$(dirname "$0")/.."
[ -x "$binary" ] || command -v "$binary" >/dev/null ||
  { echo "update-tutorials: $binary is not an executable (build it with: ninja -C build)" >&2; exit 1; }

work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

pages=(docs/tutorials/*.md)
[ -e "${pages[0]}" ] || { echo "update-tutorials: no pages in docs/tutorials/" >&2; exit 1; }
for page in "${pages[@]}"; do
  dir=$work/$(basename "$page" .md) && mkdir -p "$dir"
  count=$(awk -v dir="$dir" -f tools/tutorial-samples.awk "$page") ||
    { echo "update-tutorials: $page: a \`\`\` block is never closed" >&2; exit 1; }
  for ((n = 1; n <= count; n++)); do
    command_line=$(<"$dir/$n.cmd")
    rest=${command_line#\$ attn-trace}
    case $rest in
      *[\'\"\\\`\$\|\<\>\;\&\*\?]*)
        echo "update-tutorials: $page:$(<"$dir/$n.line"): '$command_line' has quotes or shell" \
          "syntax; a sample's arguments are plain words" >&2
        exit 1 ;;
    esac
    read -r -a args <<<"$rest"
    if ! "$binary" "${args[@]}" >"$dir/$n.out" 2>"$dir/$n.err"; then
      echo "update-tutorials: $page:$(<"$dir/$n.line"): '$command_line' failed:" >&2
      cat "$dir/$n.err" >&2
      exit 1
    fi
  done
  # Same walk as tools/tutorial-samples.awk: print everything, but under sample n print DIR/n.out instead
  # of the lines the page had.
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
