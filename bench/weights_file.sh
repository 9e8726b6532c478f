#!/usr/bin/env bash
# Benchmark: a whole BERT-base-sized nn.TransformerEncoderLayer state_dict given with --weights
# (d_model 768, 12 heads, feed-forward 3072: 7.1 million numbers, of which the attention's are a
# third), traced through --weights-prefix self_attn. for L = 512 tokens and exported as JSON.
# Prints the wall time and peak RSS of each run and their medians, for the JSON export and for
# the walkthrough of the last stage; compare with bench/export_bert.sh, the same attention with
# its weights inline.
#   bench/weights_file.sh [RUNS]        (default 5 runs)
# Needs /usr/bin/python3 with torch once, to write bench/out/encoder-layer*.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
tools/install-deps.sh time
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target attn-trace -j 2 >/dev/null

mkdir -p bench/out
weights=bench/out/encoder-layer.json input=bench/out/encoder-layer-input.json
[ -s "$weights" ] && [ -s "$input" ] || /usr/bin/python3 bench/make_encoder_layer.py "$weights" "$input"
echo "== weights: $weights ($(du -h "$weights" | cut -f1)), input: $input ($(du -h "$input" | cut -f1))"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
measure() {  # measure LABEL ARGS...: RUNS runs of attn-trace ARGS, then the medians
  local label=$1 times=() rss=() wall kb
  shift
  for _ in $(seq "$runs"); do
    read -r wall kb < <( { /usr/bin/time -f "%e %M" build-release/attn-trace "$@" >/dev/null; } 2>&1 | tail -1)
    times+=("$wall") rss+=("$kb")
  done
  printf '%-28s median %s s, %s MB peak RSS (runs: %s s)\n' "$label" \
    "$(printf '%s\n' "${times[@]}" | median)" \
    "$(( $(printf '%s\n' "${rss[@]}" | median) / 1024 ))" "${times[*]}"
}
# The layer file is larger than the default budget allows (16 × its size): 4 GiB does.
measure "--weights, JSON export" run --input "$input" --weights "$weights" --weights-prefix self_attn. \
  --heads 12 --memory-budget 4GiB --format json -o bench/out/encoder-trace.json
measure "--weights, walkthrough" run --input "$input" --weights "$weights" --weights-prefix self_attn. \
  --heads 12 --memory-budget 4GiB --stages out_proj
