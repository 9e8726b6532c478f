#!/usr/bin/env bash
# Benchmark: the NumPy export of a BERT-base-sized attention layer (L = 512, E = 768, 12 heads,
# packed weights with biases; bench/make_bert_input.py, as bench/export_bert.sh), as
# `attn-trace run bert.json --format npz -o bert.npz`, and reading it back in NumPy.
# Prints, each as the median of RUNS runs:
#   - the export's wall time and peak RSS (/usr/bin/time);
#   - the same run writing only the input stage (`--stages input`): the trace and a tiny archive,
#     so that the difference is the time the archive of every tensor takes to write; both again
#     to /dev/null, which takes out the disk and the fsync before -o's rename;
#   - np.load(allow_pickle=False) and reading every array of the archive, in /usr/bin/python3;
#   - stored against deflate: each array compressed with zlib (levels 1 and 6), the size and the
#     time it would add.
#   bench/npz.sh [RUNS [BINARY]]   (default 5 runs; builds build-release/attn-trace unless BINARY)
# Not a test: it takes about a minute and writes ~250 MB under bench/out/ (git-ignored).
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
input=bench/out/bert.json
[ -s "$input" ] || /usr/bin/python3 bench/make_bert_input.py "$input"
echo "== input: $input ($(du -h "$input" | cut -f1)), L = 512, E = 768, H = 12, packed weights with biases"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# time_runs LABEL ARGS…: RUNS runs of BINARY ARGS…; prints each, then the medians.
time_runs() {
  local label=$1 times=() rss=() wall kb
  shift
  for i in $(seq "$runs"); do
    read -r wall kb < <( { /usr/bin/time -f "%e %M" "$binary" "$@" >/dev/null; } 2>&1 | tail -1)
    echo "$label run $i: ${wall} s wall, $((kb / 1024)) MB peak RSS"
    times+=("$wall") rss+=("$kb")
  done
  wall=$(printf '%s\n' "${times[@]}" | median)
  kb=$(printf '%s\n' "${rss[@]}" | median)
  echo "$label median: ${wall} s wall, $((kb / 1024)) MB peak RSS"
  eval "${label}_wall=$wall"
}

time_runs npz run "$input" --format npz -o bench/out/bert.npz
echo "   output: $(du -h bench/out/bert.npz | cut -f1) ($(stat -c %s bench/out/bert.npz) bytes)"
time_runs trace_only run "$input" --format npz --stages input -o bench/out/bert-input.npz
# The same two to /dev/null, written in place: no fsync of 107 MB before the rename, no disk.
time_runs npz_devnull run "$input" --format npz -o /dev/null
time_runs trace_only_devnull run "$input" --format npz --stages input -o /dev/null
# shellcheck disable=SC2154  # set by time_runs
awk -v a="$npz_wall" -v t="$trace_only_wall" -v an="$npz_devnull_wall" -v tn="$trace_only_devnull_wall" \
  'BEGIN { printf "the archive of every tensor: %.2f s beyond the trace (%.2f s - %.2f s); to /dev/null %.2f s (%.2f s - %.2f s)\n", a - t, a, t, an - tn, an, tn }'

/usr/bin/python3 - bench/out/bert.npz "$runs" <<'EOF'
import statistics
import sys
import time
import zlib

import numpy as np

path, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs):
    start = time.perf_counter()
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    times.append(time.perf_counter() - start)
numbers = sum(a.size for name, a in arrays.items() if name != "trace.json")
print("np.load + every array: median %.3f s of %d runs (%d arrays, %.1f million numbers)"
      % (statistics.median(times), runs, len(arrays), numbers / 1e6))

# What deflate would give: each array's bytes compressed, as np.savez_compressed does.
raw = [a.tobytes() for name, a in arrays.items() if name != "trace.json"]
total = sum(len(b) for b in raw)
for level in (1, 6):
    start = time.perf_counter()
    packed = sum(len(zlib.compress(b, level)) for b in raw)
    seconds = time.perf_counter() - start
    print("deflate level %d: %.1f MB -> %.1f MB (%.1f%% smaller), %.2f s to compress"
          % (level, total / 1e6, packed / 1e6, 100 * (1 - packed / total), seconds))
start = time.perf_counter()
for b in raw:
    zlib.crc32(b)
print("stored: %.1f MB, CRC-32 of it %.3f s" % (total / 1e6, time.perf_counter() - start))
EOF
