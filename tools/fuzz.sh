#!/usr/bin/env bash
# Fuzzes loading, tracing and check with libFuzzer (tests/fuzz/fuzz_load_trace.cpp) for SECONDS seconds
# (default 60), starting from a seed corpus of every input in data/ and tests/ (safetensors files
# included). Installs clang and
# libFuzzer (Debian's clang, libclang-rt-14-dev) when missing, builds build-fuzz/, first replays
# tests/fuzz/regressions/, then fuzzes. Exits 1 when the fuzzer finds a crash, a leak, a hang or an
# uncaught exception; the input that caused it is in build-fuzz/findings/: fix the bug, then copy
# the file into tests/fuzz/regressions/, where ctest and this script replay it from then on.
#   tools/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

# clang, and libFuzzer's runtime, which clang only recommends.
tools/install-deps.sh clang libclang-rt-14-dev

echo "== building build-fuzz (clang, libFuzzer, ASan, UBSan)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTN_TRACE_FUZZ=ON -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz --target fuzz_load_trace -j 2

# The seed corpus: every input document in the repository (the golden files' "input" parts), and
# tests/fuzz/seeds/, written for the fuzzer (Python's NaN, Infinity and -Infinity in every part).
corpus=build-fuzz/corpus findings=build-fuzz/findings
rm -rf "$corpus" && mkdir -p "$corpus" "$findings"
for seed in data/examples/*.json tests/cli/inputs/*.json tests/json/inputs/*.json \
            tests/bad_inputs/*.json tests/bad_inputs/*.txt tests/bad_inputs/*.np[yz] \
            tests/numpy/*.np[yz] tests/fuzz/seeds/*; do
  cp "$seed" "$corpus/$(echo "$seed" | tr / -)"
done
/usr/bin/python3 - "$corpus" tests/golden/*.json <<'PY'
import json, os, sys
corpus = sys.argv[1]
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)["input"]
    with open(os.path.join(corpus, "golden-" + os.path.basename(path)), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
PY
# Input and weights files together, as the target splits them (see fuzz_load_trace.cpp).
for case in tests/state_dicts/*/; do
  { cat "$case/input.json"; printf '\n#weights\n%s\n' "$(basename "$case" | cut -c1-4)";
    cat "$case/weights.json"; } >"$corpus/state-dict-$(basename "$case").txt"
done
for case in tests/python_json/*/; do  # one layer each: no --weights-prefix
  { cat "$case/input.json"; printf '\n#weights\n\n'; cat "$case/weights.json"; } \
    >"$corpus/python-json-$(basename "$case").txt"
done
# Input and safetensors files together, and the bad safetensors files with an input.
for case in tests/safetensors/*/; do
  { cat "$case/input.json"; printf '\n#safetensors\n%s\n' "$(basename "$case" | cut -c1-4)";
    cat "$case/model.safetensors"; } >"$corpus/safetensors-$(basename "$case").txt"
done
for bad in tests/bad_inputs/*.safetensors; do
  { cat tests/safetensors/mha-f32/input.json; printf '\n#safetensors\n\n'; cat "$bad"; } \
    >"$corpus/safetensors-$(basename "$bad").txt"
done
echo "== seed corpus: $(ls "$corpus" | wc -l) inputs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
regressions=(tests/fuzz/regressions/*.json)
if [ -e "${regressions[0]}" ]; then
  echo "== replaying ${#regressions[@]} regression inputs"
  build-fuzz/fuzz_load_trace "${regressions[@]}" >/dev/null 2>build-fuzz/replay.log ||
    { cat build-fuzz/replay.log; echo "FAIL: a regression input fails again"; exit 1; }
fi

echo "== fuzzing for ${seconds} s"
# -timeout: one input may take at most 10 s; -rss_limit_mb: the whole process at most 2 GiB.
if ! build-fuzz/fuzz_load_trace "$corpus" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=16384 -dict=tests/fuzz/json.dict -artifact_prefix="$findings/" \
    -print_final_stats=1 \
    > build-fuzz/fuzz.log 2>&1; then
  tail -60 build-fuzz/fuzz.log
  echo "FAIL: the fuzzer found a bug; its input is in $findings/:"
  ls -l "$findings"
  exit 1
fi
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" build-fuzz/fuzz.log || true
echo "== fuzzing: no findings in ${seconds} s"
