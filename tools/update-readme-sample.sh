#!/usr/bin/env bash
# Rewrites the sample output in README.md (the lines after "$ attn-trace …" up to the closing
# fence) with what build/attn-trace prints now. ctest's docs.readme_sample fails until this is run
# after a change to the walkthrough.
set -euo pipefail
cd "$(dirname "$0")/.."
command_line=$(grep -m1 '^\$ attn-trace ' README.md)
read -r -a args <<<"${command_line#\$ attn-trace }"
sample=$(mktemp) && trap 'rm -f "$sample"' EXIT
build/attn-trace "${args[@]}" >"$sample"
awk -v cmd="$command_line" -v sample="$sample" '
  $0 == cmd { print; while ((getline line < sample) > 0) print line; skipping = 1; next }
  skipping && /^```/ { skipping = 0 }
  !skipping { print }' README.md >README.md.new
mv README.md.new README.md
echo "README.md: sample of '$command_line' updated"
