#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and walk through the bundled example "I am good".
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
# Quiet when it works; the whole build log when it does not.
log=$(mktemp)
if ! { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF &&
       cmake --build build --target attn-trace -j 2; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "attn-trace: the build failed (log above)" >&2
  exit 1
fi
rm -f "$log"
exec build/attn-trace run "$@"
