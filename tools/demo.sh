#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and walk through the bundled example "I am good".
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
cmake --build build --target attn-trace -j 2 >/dev/null
exec build/attn-trace run "$@"
