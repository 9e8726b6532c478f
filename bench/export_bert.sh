#!/usr/bin/env bash
# Benchmark: the JSON export of a BERT-base-sized attention layer (L = 512, E = 768, 12 heads,
# packed weights with biases), as `attn-trace run bert.json --format json -o trace.json`, against
# PyTorch doing the same job (bench/pytorch_export.py: every intermediate but weighted_values,
# then json.dump), measured in the same run, the two taking turns.
# Prints each run's wall time and peak RSS (from /usr/bin/time), the median wall time, the largest
# peak RSS, PyTorch's median and the ratio, and exits 1 when a target of issue 18 is missed:
#   median wall ≤ 1.0 s, peak RSS ≤ 250 MB, at least 18× faster than PyTorch.
# It also times the text walkthrough of the same input (`run bert.json` to /dev/null) and reports
# it against its target (0.5 s), without failing on it.
#   bench/export_bert.sh [RUNS [BINARY]]   (default 5 runs; build-release/attn-trace, built here)
# Not a test: it takes a minute or two and writes ~350 MB under bench/out/ (git-ignored). Needs
# /usr/bin/time (Debian's time, installed when missing) and /usr/bin/python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5} bin=${2:-}
max_wall=1.0 max_mb=250 min_ratio=18 max_text_wall=0.5
tools/install-deps.sh time
if [ -z "$bin" ]; then
  echo "== building build-release (Release)"
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release --target attn-trace -j 2 >/dev/null
  bin=build-release/attn-trace
fi
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "PyTorch: /usr/bin/python3 has no torch (Debian's python3-torch); the ratio cannot be measured" >&2
  exit 1
fi

mkdir -p bench/out
input=bench/out/bert.json
[ -s "$input" ] || /usr/bin/python3 bench/make_bert_input.py "$input"
echo "== input: $input ($(du -h "$input" | cut -f1)), L = 512, E = 768, H = 12, packed weights with biases"
echo "== $bin, on $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# "WALL KB CPU" of one run of the command given, its output thrown away. CPU (user + system
# seconds) says what the run cost when other jobs share the cores and stretch its wall time.
measure() { { /usr/bin/time -f "%e %M %U %S" "$@" >/dev/null; } 2>&1 | tail -1 |
              awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'; }

times=() rss=() torch_times=() text_times=() cpus=()
for i in $(seq "$runs"); do
  read -r wall kb cpu < <(measure "$bin" run "$input" --format json -o bench/out/trace.json)
  t=$(/usr/bin/python3 bench/pytorch_export.py "$input" bench/out/torch.json)
  read -r text_wall text_kb text_cpu < <(measure "$bin" run "$input")
  echo "run $i: attn-trace ${wall} s wall (${cpu} s CPU), $((kb / 1024)) MB peak RSS ·" \
       "PyTorch + json.dump ${t} s · text walkthrough ${text_wall} s (${text_cpu} s CPU), $((text_kb / 1024)) MB"
  times+=("$wall") rss+=("$kb") torch_times+=("$t") text_times+=("$text_wall") cpus+=("$cpu")
done
wall=$(printf '%s\n' "${times[@]}" | median)
peak_mb=$(( $(printf '%s\n' "${rss[@]}" | sort -n | tail -1) / 1024 ))
torch_wall=$(printf '%s\n' "${torch_times[@]}" | median)
text_wall=$(printf '%s\n' "${text_times[@]}" | median)
cpu=$(printf '%s\n' "${cpus[@]}" | median)
ratio=$(awk -v a="$wall" -v t="$torch_wall" 'BEGIN { printf "%.1f", t / a }')

echo "== results ($runs runs; output $(du -h bench/out/trace.json | cut -f1))"
failed=0
# check NAME VALUE OP LIMIT UNIT: prints the figure against its target; a miss fails the script.
check() {
  if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == "<=" ? v <= l : v >= l) }'; then
    echo "ok      $1: $2$5 (target $3 $4$5)"
  else
    echo "MISSED  $1: $2$5 (target $3 $4$5)"
    failed=1
  fi
}
check "JSON export, median wall (median CPU ${cpu} s)" "$wall" "<=" "$max_wall" " s"
check "JSON export, peak RSS (largest of the runs)" "$peak_mb" "<=" "$max_mb" " MB"
check "faster than PyTorch + json.dump (median ${torch_wall} s, reading the input to the end of json.dump)" \
  "$ratio" ">=" "$min_ratio" "×"
if awk -v v="$text_wall" -v l="$max_text_wall" 'BEGIN { exit !(v <= l) }'; then
  echo "ok      text walkthrough, median wall: ${text_wall} s (target <= ${max_text_wall} s; reported only)"
else
  echo "note    text walkthrough, median wall: ${text_wall} s (target <= ${max_text_wall} s; reported only, not failed on)"
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$failed"
