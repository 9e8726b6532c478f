#!/usr/bin/env bash
# Benchmark: one layer picked out of a BERT-base-sized 12-layer safetensors checkpoint (F32,
# about 440 MB), against the same layer from a file that holds only it, and from a JSON
# state_dict; an input of L = 8 tokens, so that reading the weights is all that is measured.
# The checkpoint is mapped, not read: only layer 6's tensors should come from the page cache, and
# the run should take under 0.5 s and under 100 MB of peak RSS more than the small file's.
# Prints hyperfine's timings (mean ± σ) and /usr/bin/time -v's maximum resident set size.
#   bench/safetensors.sh [RUNS [BINARY]]   (default 10 runs each, build-release/attn-trace, built)
# Needs hyperfine and /usr/bin/time (Debian's hyperfine and time), /usr/bin/python3 with numpy
# once, to write bench/out/safetensors/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10} bin=${2:-}
tools/install-deps.sh time hyperfine
if [ -z "$bin" ]; then
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release --target attn-trace -j 2 >/dev/null
  bin=build-release/attn-trace
fi

out=bench/out/safetensors
[ -s "$out/bert-base.safetensors" ] && [ -s "$out/case-6.npz" ] ||
  /usr/bin/python3 bench/make_safetensors_model.py "$out"
ls -l "$out"

layer=bert.encoder.layer.6.attention.  # self.query/key/value and output.dense
common="run $out/input-8.json --heads 12 --format json -o /dev/null"
big="$bin $common --weights $out/bert-base.safetensors --weights-prefix $layer"
small="$bin $common --weights $out/layer-6.safetensors"
json="$bin $common --weights $out/layer-6.json"

# The four must trace the same numbers: the layer from JSON, safetensors and .npz (float32 values,
# each converted exactly to double).
for w in bert-base.safetensors layer-6.safetensors layer-6.json; do
  prefix=(); [ "$w" = bert-base.safetensors ] && prefix=(--weights-prefix "$layer")
  "$bin" run "$out/input-8.json" --heads 12 --format json -o "$out/trace-$w.json" \
    --weights "$out/$w" "${prefix[@]}"
done
"$bin" run "$out/case-6.npz" --heads 12 --format json -o "$out/trace-case-6.npz.json"
/usr/bin/python3 - "$out"/trace-*.json <<'PY'
import json, sys
traces = [json.load(open(p)) for p in sys.argv[1:]]
def numbers(trace):  # the stages' tensors: the notes name the file, the npz's header has no notes
    return [(s["id"], [(t["name"], t["data"]) for t in s["tensors"]]) for s in trace["stages"]]
for t in traces[1:]:
    assert numbers(t) == numbers(traces[0])
PY
echo "== the four traces are the same numbers (JSON, safetensors twice, npz)"

hyperfine --warmup 2 --runs "$runs" -N \
  -n "layer 6 of the 12-layer file" "$big" \
  -n "the one-layer safetensors file" "$small" \
  -n "the one-layer JSON state_dict" "$json"

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ { print $2 }'; }
for label in big small json; do
  printf 'max RSS, %-6s %6d KB\n' "$label" "$(rss ${!label})"
done
# From a cold page cache (root only): what the big file costs when it is not cached.
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/drop_caches ]; then
  sync && echo 3 >/proc/sys/vm/drop_caches
  /usr/bin/time -f "cold cache, big file: %e s, %M KB max RSS, %F major faults" $big
fi
