#!/usr/bin/env bash
# Rewrites docs/stages.md from include/attn_trace/stage_text.hpp's text (what run --explain shows),
# with build/tests/stages_markdown. ctest's docs.stages fails until this is run after a change.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build --target stages_markdown >/dev/null
build/tests/stages_markdown >docs/stages.md
echo "docs/stages.md updated"
