#!/usr/bin/env bash
# Projector-sized screenshots (1920×1080) of `attn-trace run --format html` for the README and
# docs/html.md, taken in Debian's headless Chromium: docs/images/html-start.png (the default example
# as it opens), html-softmax.png (the two-head example's softmax, a cell's arithmetic open) and
# html-dark.png (its masking stage in the dark theme).
#   tools/html-screenshots.sh [ATTN_TRACE]     (default build/attn-trace)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d tests/browser/node_modules/puppeteer-core ] || npm ci --prefix tests/browser --no-audit --no-fund
node tools/html-screenshots.mjs "$(realpath "${1:-build/attn-trace}")" docs/images
ls -l docs/images/html-*.png
