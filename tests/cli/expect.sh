#!/usr/bin/env bash
# Runs the real attn-trace binary and checks what a user would see.
#   expect.sh STATUS FRAGMENT [--stdin FILE] BINARY ARGS...
# An argument written {empty} is passed as an empty string (CMake drops empty arguments).
# Passes when the exit status is STATUS and stdout+stderr contain FRAGMENT (fixed string). A
# failing run must never look like a crash: no "terminate called", no "Aborted", no sanitizer report.
set -u
status=$1 fragment=$2
shift 2
# An empty fragment is found in any output: such a test could not fail.
[ -n "$fragment" ] || { echo "FAIL: expect.sh was given an empty FRAGMENT: nothing to look for"; exit 1; }
stdin=/dev/null
if [ "$1" = "--stdin" ]; then stdin=$2; shift 2; fi

args=()
for arg in "$@"; do [ "$arg" = "{empty}" ] && args+=("") || args+=("$arg"); done
set -- "${args[@]}"

command=("$@")
out=$(mktemp) && trap 'rm -f "$out"' EXIT
"${command[@]}" <"$stdin" >"$out" 2>&1
actual=$?

fail() {
  echo "FAIL: $*"
  echo "--- command: $(printf '%q ' "${command[@]}")"
  [ "$stdin" = /dev/null ] || echo "--- standard input: $stdin"
  echo "--- output:"
  cat "$out"
  exit 1
}
[ "$actual" = "$status" ] || fail "exit status $actual, expected $status"
grep -qF -- "$fragment" "$out" || fail "output lacks: $fragment"
if grep -qE 'terminate called|Aborted|Segmentation|runtime error:|AddressSanitizer' "$out"; then
  fail "output looks like a crash"
fi
echo "ok: exit $actual, found: $fragment"
