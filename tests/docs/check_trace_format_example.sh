#!/usr/bin/env bash
# check_trace_format_example.sh BINARY docs/trace-format.md
# The example document in docs/trace-format.md is real output: the code block after the line
# "`attn-trace run --format json --stages input,scores,softmax` prints:" must be what that prints.
set -euo pipefail
binary=$1 doc=$2
marker='`attn-trace run --format json --stages input,scores,softmax` prints:'
expected=$(awk -v marker="$marker" '
  index($0, marker) { found = 1; next }
  found && !inside && /^```/ { inside = 1; next }
  inside && /^```/ { exit }
  inside { print }' "$doc")
[ -n "$expected" ] || { echo "FAIL: no example after the marker line in $doc"; exit 1; }
actual=$("$binary" run --format json --stages input,scores,softmax)
if [ "$expected" != "$actual" ]; then
  echo "FAIL: the example in $doc differs from the output:"
  diff <(echo "$expected") <(echo "$actual") | head -20
  exit 1
fi
echo "ok: the example in $doc is the real output"
