#!/usr/bin/env bash
# The browser tests fail, not skip, when puppeteer-core is not installed, and say what to run:
# lib.mjs run from a copy of tests/browser without node_modules.
#   check_missing_puppeteer.sh TESTS_BROWSER_DIR
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$1/lib.mjs" "$1/navigation.test.mjs" "$1/package.json" "$dir/"
if out=$(node "$dir/navigation.test.mjs" /bin/false "$dir" 2>&1); then
  echo "FAIL: the test passed without puppeteer-core"; exit 1
fi
expected="tests/browser/node_modules/puppeteer-core is missing: run tools/test.sh, which runs npm ci in tests/browser"
if [[ "$out" != *"$expected"* ]]; then
  echo "FAIL: expected '$expected', got:"; echo "$out"; exit 1
fi
echo "ok: $out"
