#!/usr/bin/env bash
# Benchmark: the JSON export of a BERT-base-sized attention layer (L = 512, E = 768, 12 heads,
# packed weights with biases), as `attn-trace run bert.json --format json -o trace.json`.
# Prints the wall time and peak RSS of each run (from /usr/bin/time) and their medians; when
# /usr/bin/python3 has torch, also times the same job done in PyTorch (bench/pytorch_export.py:
# every intermediate but weighted_values, then json.dump) and prints the ratio.
#   bench/export_bert.sh [RUNS]        (default 5 runs)
# Not a test: it takes about a minute and writes ~600 MB under bench/out/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
tools/install-deps.sh
if [ ! -x /usr/bin/time ]; then
  apt-get install -y -q --no-install-recommends time >/dev/null || { echo "need /usr/bin/time (Debian package 'time')" >&2; exit 1; }
fi

echo "== building build-release (Release)"
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target attn-trace -j 2 >/dev/null

mkdir -p bench/out
input=bench/out/bert.json
[ -s "$input" ] || /usr/bin/python3 bench/make_bert_input.py "$input"
echo "== input: $input ($(du -h "$input" | cut -f1)), L = 512, E = 768, H = 12, packed weights with biases"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
times=() rss=()
for i in $(seq "$runs"); do
  read -r wall kb < <( { /usr/bin/time -f "%e %M" build-release/attn-trace run "$input" --format json \
                         -o bench/out/trace.json >/dev/null; } 2>&1 | tail -1)
  echo "attn-trace run $i: ${wall} s wall, $((kb / 1024)) MB peak RSS"
  times+=("$wall") rss+=("$kb")
done
wall=$(printf '%s\n' "${times[@]}" | median)
kb=$(printf '%s\n' "${rss[@]}" | median)
echo "attn-trace median: ${wall} s wall, $((kb / 1024)) MB peak RSS, output $(du -h bench/out/trace.json | cut -f1)"

if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  torch_times=()
  for i in $(seq "$runs"); do
    t=$(/usr/bin/python3 bench/pytorch_export.py "$input" bench/out/torch.json)
    echo "PyTorch + json.dump run $i: ${t} s"
    torch_times+=("$t")
  done
  torch_wall=$(printf '%s\n' "${torch_times[@]}" | median)
  echo "PyTorch + json.dump median: ${torch_wall} s (reading the input to the end of json.dump)"
  awk -v a="$wall" -v t="$torch_wall" 'BEGIN { printf "ratio: attn-trace is %.1f× faster\n", t / a }'
else
  echo "PyTorch: /usr/bin/python3 has no torch (Debian python3-torch); no comparison"
fi
