#!/usr/bin/env bash
# Benchmark: `attn-trace check` on a BERT-base-sized layer (L = 512, E = 768, 12 heads, a causal
# mask), with a student's float32 PyTorch tensors saved by np.savez (bench/make_check_case.py):
#   correct        every tensor right: read, traced and compared, no replay
#   scale_missing  every tensor from `scaled` on wrong: the first difference replayed against the
#                  catalogue, and each later tensor replayed from the student's own
#   output-only    only the output, wrong: every mistake replayed all the way to the output
# Prints hyperfine's timings (mean ± σ) and /usr/bin/time -v's maximum resident set size, and
# checks the verdicts (exit 0, 3, 3; scale_missing found).
#   bench/check.sh [RUNS [BINARY]]   (default 5 runs each, build-release/attn-trace, built)
# Needs hyperfine and /usr/bin/time (Debian's hyperfine and time), /usr/bin/python3 with torch
# and numpy once, to write bench/out/check/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5} bin=${2:-}
tools/install-deps.sh time hyperfine
if [ -z "$bin" ]; then
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release --target attn-trace -j 2 >/dev/null
  bin=build-release/attn-trace
fi

out=bench/out/check
mkdir -p "$out"
[ -s "$out/input.json" ] ||
  "$bin" init --seq-len 512 --embed-dim 768 --heads 12 --mask causal --seed 7 -o "$out/input.json"
[ -s "$out/output-only.npz" ] || /usr/bin/python3 bench/make_check_case.py "$out/input.json" "$out"
ls -l "$out"

verdict() {  # CASE STATUS [ID]
  local status=0
  "$bin" check "$out/$1.npz" "$out/input.json" --format json -o "$out/$1.report.json" || status=$?
  [ "$status" = "$2" ] || { echo "FAIL: $1 exits $status, expected $2" >&2; exit 1; }
  if [ -n "${3:-}" ]; then
    /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
assert r['diagnosis'] and r['diagnosis'][0]['id'] == sys.argv[2], r['diagnosis']" \
      "$out/$1.report.json" "$3"
  fi
  echo "$1: exit $status ${3:-}"
}
verdict correct 0
verdict scale_missing 3 scale_missing
verdict output-only 3 scale_missing

for case in correct scale_missing output-only; do
  # check exits 3 for the wrong cases: that is their verdict, not a failure here.
  { /usr/bin/time -v "$bin" check "$out/$case.npz" "$out/input.json" -o /dev/null 2>&1 >/dev/null || true; } |
    awk -v c="$case" '/Maximum resident/ { printf "%s: max RSS %.0f MB\n", c, $6 / 1024 }'
done
hyperfine --runs "$runs" -N -i \
  -n correct "$bin check $out/correct.npz $out/input.json -o /dev/null" \
  -n scale_missing "$bin check $out/scale_missing.npz $out/input.json -o /dev/null" \
  -n output-only "$bin check $out/output-only.npz $out/input.json -o /dev/null"
