#!/usr/bin/env bash
# check_readme_sample.sh BINARY README.md
# README.md shows a real sample of the walkthrough: a "$ attn-trace …" line inside a code block,
# followed by its output. This runs that command with BINARY and fails when the output differs,
# so the sample can never drift from what the tool prints.
set -euo pipefail
binary=$1 readme=$2

command_line=$(grep -m1 '^\$ attn-trace ' "$readme" || true)
[ -n "$command_line" ] || { echo "FAIL: no '\$ attn-trace …' sample in $readme"; exit 1; }
read -r -a args <<<"${command_line#\$ attn-trace }"

expected=$(awk -v cmd="$command_line" '
  $0 == cmd { inside = 1; next }
  inside && /^```/ { exit }
  inside { print }' "$readme")
actual=$("$binary" "${args[@]}")

if [ "$expected" != "$actual" ]; then
  echo "FAIL: the sample in $readme differs from what '$command_line' prints:"
  diff <(echo "$expected") <(echo "$actual") || true
  exit 1
fi
echo "ok: the README sample matches '$command_line' ($(echo "$actual" | wc -l) lines)"
