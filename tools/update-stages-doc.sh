#!/usr/bin/env bash
# Rewrites docs/stages.md from the stage table of include/attn_trace/core/stage_id.hpp (what
# run --explain shows), with build/tests/stages_markdown. ctest's docs.stages fails until this is run
# after a change.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build --target stages_markdown >/dev/null
build/tests/stages_markdown >docs/stages.md
echo "docs/stages.md updated"
