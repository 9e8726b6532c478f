#!/usr/bin/env bash
# Rewrites tests/snapshot/expected/ with what BINARY (default build/attn-trace) prints now, for
# every case of tests/snapshot/snapshot.sh. ctest's snapshot.outputs fails until this is run after
# a change a user sees; read `git diff tests/snapshot/expected` before committing: it is the
# change users will see.
set -euo pipefail
binary=${1:-build/attn-trace}
if [ $# -ge 1 ] && [[ $binary == */* && $binary != /* ]]; then binary=$PWD/$binary; fi
cd "$(dirname "$0")/.."
exec bash tests/snapshot/snapshot.sh "$binary" --write tests/snapshot/expected
