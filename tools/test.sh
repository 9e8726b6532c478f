#!/usr/bin/env bash
# Quick start 2: install what is missing, build, and run every test — once in a normal build
# (build/) and once under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/) — then
# fuzz loading and tracing for 60 s (tools/fuzz.sh, build-fuzz/).
# `tools/test.sh --quick` skips the sanitizer build and the fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --tests

run_suite() {  # DIR, then extra cmake arguments
  local dir=$1; shift
  echo "== attn-trace: building and testing in $dir"
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j 2
  ctest --test-dir "$dir" --output-on-failure -j 2
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${1:-}" != "--quick" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DATTN_TRACE_SANITIZE=ON
  tools/fuzz.sh 60
fi
