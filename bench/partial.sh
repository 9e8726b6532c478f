#!/usr/bin/env bash
# Benchmark: runs that show little compute little (issue 18). Times, with /usr/bin/time, the
# median wall time and peak RSS of RUNS runs of each case, and fails (exit 1) when one misses its
# target:
#   L = 16384, E = 64, H = 4   run --focus query=5 --until softmax         < 1 s,    < 300 MB
#   L = 8192,  E = 64, H = 4   run (the default text walkthrough)          < 5 s,    < 1 GiB
#   BERT-base-sized layer      run (the text walkthrough, L = 512, E = 768) ≤ 0.5 s
#   every bundled example      run (the text walkthrough)                  ≤ 10 ms,  ≤ 12 MB
# and, for the record, L = 4096 `--until scores` (7.9 s and 4.0 GB before partial traces).
#   bench/partial.sh [RUNS [BINARY]]   (default 5 runs; builds build-release/attn-trace)
# Not a test: it writes ~60 MB of inputs under bench/out/ (git-ignored), once.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
binary=${2:-}
if [ ! -x /usr/bin/time ]; then
  apt-get install -y -q --no-install-recommends time >/dev/null || { echo "need /usr/bin/time (Debian package 'time')" >&2; exit 1; }
fi
if [ -z "$binary" ]; then
  tools/install-deps.sh
  echo "== building build-release (Release)"
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release --target attn-trace -j 2 >/dev/null
  binary=build-release/attn-trace
fi

mkdir -p bench/out
for L in 4096 8192 16384; do
  [ -s "bench/out/long-$L.json" ] || /usr/bin/python3 bench/make_long_input.py "bench/out/long-$L.json" "$L" 64 4
done
[ -s bench/out/bert.json ] || /usr/bin/python3 bench/make_bert_input.py bench/out/bert.json

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
failed=0
# measure NAME MAX_SECONDS MAX_MB ARGS…: the median wall time and peak RSS of RUNS runs.
measure() {
  local name=$1 max_s=$2 max_mb=$3
  shift 3
  local times=() rss=() wall kb
  for _ in $(seq "$runs"); do
    read -r wall kb < <( { /usr/bin/time -f "%e %M" "$binary" "$@" -o bench/out/partial.out; } 2>&1 | tail -1)
    times+=("$wall") rss+=("$kb")
  done
  wall=$(printf '%s\n' "${times[@]}" | median)
  kb=$(printf '%s\n' "${rss[@]}" | median)
  local verdict=ok
  if awk -v w="$wall" -v m="$max_s" -v k="$kb" -v mm="$max_mb" 'BEGIN { exit !(w > m || k / 1024 > mm) }'; then
    verdict="MISSED (target ${max_s} s, ${max_mb} MB)"
    failed=1
  fi
  printf '%-58s %6.2f s  %6d MB  %s\n' "$name" "$wall" "$((kb / 1024))" "$verdict"
}

echo "== $runs runs each, median wall time and peak RSS ($binary)"
measure "L=16384 run --focus query=5 --until softmax" 1 300 run bench/out/long-16384.json --focus query=5 --until softmax
measure "L=8192 run (text walkthrough)" 5 1024 run bench/out/long-8192.json
measure "L=4096 run --until scores (text)" 60 100000 run bench/out/long-4096.json --until scores
measure "L=4096 run --until scores --format json" 60 100000 run bench/out/long-4096.json --until scores --format json
measure "BERT-sized layer, run (text walkthrough)" 0.5 100000 run bench/out/bert.json
# The examples take milliseconds, below /usr/bin/time's resolution: their time is the mean of 20
# runs in a row, their peak RSS the largest of one run.
for name in $("$binary" examples | awk '/^[a-z]/ && $1 != "attn-trace" { print $1 }'); do
  start=$(date +%s%N)
  for _ in $(seq 20); do "$binary" run "$name" -o bench/out/partial.out; done
  ms=$(( ($(date +%s%N) - start) / 20000000 ))
  kb=$( { /usr/bin/time -f "%M" "$binary" run "$name" -o bench/out/partial.out; } 2>&1 | tail -1)
  verdict=ok
  if [ "$ms" -gt 10 ] || [ "$((kb / 1024))" -gt 12 ]; then verdict="MISSED (target 10 ms, 12 MB)"; failed=1; fi
  printf '%-58s %6d ms %6d MB  %s\n' "example $name, run (text walkthrough)" "$ms" "$((kb / 1024))" "$verdict"
done
exit "$failed"
