#!/usr/bin/env bash
# Where the BERT-sized JSON export's time goes (read, parse, load, trace, render), and the
# hand-written JSON parser against simdjson's (Debian's libsimdjson-dev, installed here when
# missing; attn-trace itself does not use it) on the same input: bench/json_phases.cpp, built
# against a Release build's libraries.
#   bench/json_phases.sh [RUNS [BUILD_DIR]]   (default 5 runs, build-release)
# Prints each phase's median in milliseconds, then the peak RSS of parsing alone with each parser.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
build=${2:-build-release}
tools/install-deps.sh time libsimdjson-dev  # bench only: the build does not use simdjson
if [ ! -f "$build/src/render/libattn_trace_render.a" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTN_TRACE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target attn-trace -j 2 >/dev/null
fi
mkdir -p bench/out
input=bench/out/bert.json
[ -s "$input" ] || /usr/bin/python3 bench/make_bert_input.py "$input"

libs=("$build"/src/render/libattn_trace_render.a "$build"/src/input/libattn_trace_input.a
      "$build"/src/core/libattn_trace_core.a)
flags=(-std=c++20 -O2 -DNDEBUG -Iinclude -Isrc/input -I/usr/include/eigen3 -fopenmp)
g++ "${flags[@]}" -DWITH_SIMDJSON bench/json_phases.cpp "${libs[@]}" -lsimdjson -lfmt -lzip \
  -lpthread -o bench/out/json_phases
bench/out/json_phases "$input" "$runs"

# Peak memory of each parser alone: a program that only reads and parses, once.
cat >bench/out/parse_only.cpp <<'EOF'
#include <cstdio>
#include <string>
#include "attn_trace/input/load.hpp"
#include "json_document.hpp"
#ifdef WITH_SIMDJSON
#include <simdjson.h>
#endif
int main(int, char** argv) {
  std::string text = attn_trace::read_input_file(argv[1]);
#ifdef WITH_SIMDJSON
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  text = std::string();
  return parser.parse(padded).is_object() ? 0 : 1;
#else
  auto document = attn_trace::loader::parse_document(text, argv[1],
                                                     attn_trace::loader::DocumentKind::input);
  return document.is_object() ? 0 : 1;
#endif
}
EOF
g++ "${flags[@]}" bench/out/parse_only.cpp "${libs[@]}" -lfmt -lzip -lpthread -o bench/out/parse_hand
g++ "${flags[@]}" -DWITH_SIMDJSON bench/out/parse_only.cpp "${libs[@]}" -lsimdjson -lfmt -lzip \
  -lpthread -o bench/out/parse_simdjson
for p in hand simdjson; do
  /usr/bin/time -f "peak RSS, read + parse ($p): %M KB, %e s" bench/out/parse_$p "$input"
done
