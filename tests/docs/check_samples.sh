#!/usr/bin/env bash
# check_samples.sh BINARY PAGE...
# A page's samples are real output. A sample is a ```console block whose first line is
# "$ attn-trace ARGS…" (the convention of docs/tutorials/, read by tools/doc-samples.awk);
# the lines under it, up to the closing fence, must be exactly what BINARY ARGS… prints, run from
# the repository root with nothing on standard input:
#   - a command that succeeds (exit status 0): its standard output;
#   - a command that fails with a clear error (exit status 1 or 2): its standard output, then its
#     standard error, so a page can show an error message as the user gets it;
#   - "attn-trace check" finding a tensor that differs from the trace (exit status 3, which only
#     check uses): its standard output, the report.
# ARGS are plain words or 'single-quoted' text, no other shell syntax. This fails, listing every
# problem at once, when a sample differs, a command crashes (any other exit status) or has shell
# syntax (or exits 3 without being check), a ``` block is never closed, or a page given has no
# sample at all: a check that finds nothing to check must fail. tools/update-doc-samples.sh BINARY
# PAGE… rewrites the samples after an intended change.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: check_samples.sh BINARY PAGE..." >&2; exit 2; }
binary=$1; shift
if [[ $binary == */* && $binary != /* ]]; then binary=$PWD/$binary; fi
[ -x "$binary" ] || command -v "$binary" >/dev/null || { echo "FAIL: $binary is not an executable"; exit 1; }
pages=()
for page in "$@"; do
  [[ $page == /* ]] || page=$PWD/$page
  pages+=("$page")
done
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
awk_script=$root/tools/doc-samples.awk

work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
problems=0 samples=0
fail() { echo "FAIL: $*"; problems=$((problems + 1)); }

p=0
for page in "${pages[@]}"; do
  shown=${page#"$root/"}
  if [ ! -r "$page" ]; then fail "$shown: cannot read"; continue; fi
  p=$((p + 1)) && dir=$work/$p && mkdir -p "$dir"
  if ! count=$(awk -v dir="$dir" -f "$awk_script" "$page"); then
    fail "$shown: a \`\`\` block is never closed"
    continue
  fi
  if [ "$count" -eq 0 ]; then
    fail "$shown: no sample (a \`\`\`console block whose first line is \"\$ attn-trace …\"): nothing was checked"
    continue
  fi
  matched=0
  for ((n = 1; n <= count; n++)); do
    samples=$((samples + 1))
    command_line=$(<"$dir/$n.cmd")
    where="$shown:$(<"$dir/$n.line")"
    if [ -f "$dir/$n.bad" ]; then
      fail "$where: '$command_line': $(<"$dir/$n.bad")"
      continue
    fi
    mapfile -t args <"$dir/$n.args"
    status=0
    "$binary" "${args[@]}" </dev/null >"$dir/$n.out" 2>"$dir/$n.err" || status=$?
    case $status in
      0) awk '{ print }' "$dir/$n.out" >"$dir/$n.actual" ;;
      3) if [ "${args[0]:-}" != check ]; then
           fail "$where: '$command_line' exits with status 3, which only 'attn-trace check' uses"
           continue
         fi
         awk '{ print }' "$dir/$n.out" >"$dir/$n.actual" ;;
      1 | 2) { awk '{ print }' "$dir/$n.out"; awk '{ print }' "$dir/$n.err"; } >"$dir/$n.actual" ;;
      *)
        fail "$where: '$command_line' exits with status $status (0, 1 or 2 expected; 3 for check):"
        sed 's/^/        /' "$dir/$n.err" | head -20
        continue ;;
    esac
    if cmp -s "$dir/$n.expected" "$dir/$n.actual"; then
      matched=$((matched + 1))
    else
      fail "$where: the sample of '$command_line' (exit status $status) differs from what $binary prints now:"
      diff -u --label "$shown (the page)" --label "$command_line (now)" \
        "$dir/$n.expected" "$dir/$n.actual"
    fi
  done
  echo "$shown: $matched of $count sample(s) match"
done

if [ "$problems" -gt 0 ]; then
  echo "$problems problem(s). After an intended change to what the tool prints, run:"
  echo "  tools/update-doc-samples.sh $binary ${*}"
  echo "and read the diff: the text around a sample may need to change with it."
  exit 1
fi
echo "ok: $samples sample(s) in ${#pages[@]} page(s) match '$binary'"
