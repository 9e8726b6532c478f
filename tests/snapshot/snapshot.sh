#!/usr/bin/env bash
# What a user sees, byte for byte: every bundled example under the main flag sets, the test inputs,
# the state_dicts, the bad inputs' messages, explain on a few cells, check, help, examples and init.
#   snapshot.sh BINARY --write DIR   records each case's output in DIR/NAME.out
#   snapshot.sh BINARY --check DIR   fails, with a diff of each case, when any output differs
# A case's file holds its standard output, then its standard error and its exit status. The
# recorded outputs are tests/snapshot/expected/ (ctest: snapshot.outputs); after a change a user
# should see, rewrite them with tools/update-snapshot.sh and read the diff before committing.
set -uo pipefail
[ $# -eq 3 ] && { [ "$2" = --write ] || [ "$2" = --check ]; } ||
  { echo "usage: snapshot.sh BINARY --write|--check DIR" >&2; exit 2; }
binary=$1 mode=$2 dir=$3
if [[ $binary == */* && $binary != /* ]]; then binary=$PWD/$binary; fi
if [[ $dir != /* ]]; then dir=$PWD/$dir; fi
cd "$(dirname "$0")/../.."   # relative paths in messages, whoever calls
export LC_ALL=C.UTF-8 TZ=UTC
unset NO_COLOR COLORTERM

work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
cases=0 differ=0
declare -A seen=()

# one NAME ARGS...: run `attn-trace ARGS...` with standard input from /dev/null.
one() {
  local name=$1; shift
  [ -z "${seen[$name]:-}" ] || { echo "snapshot.sh: case $name is defined twice" >&2; exit 2; }
  seen[$name]=1
  cases=$((cases + 1))
  local out=$work/$name.out status=0
  "$binary" "$@" </dev/null >"$out" 2>"$work/stderr" || status=$?
  { printf -- '--- stderr\n'; cat "$work/stderr"; printf -- '--- exit %s\n' "$status"; } >>"$out"
  if [ "$mode" = --write ]; then
    cp "$out" "$dir/$name.out"
  elif [ ! -f "$dir/$name.out" ]; then
    echo "FAIL: $name: no recorded output $dir/$name.out (attn-trace $*)"
    differ=$((differ + 1))
  elif ! cmp -s "$dir/$name.out" "$out"; then
    echo "FAIL: $name: attn-trace $* prints something else now:"
    diff -u --label "recorded" --label "now" "$dir/$name.out" "$out" | head -40
    differ=$((differ + 1))
  fi
}

[ "$mode" = --check ] || { rm -rf "$dir" && mkdir -p "$dir"; } || exit 2

# Every bundled example under the main flag sets.
examples=$("$binary" examples | awk 'NF && !/^attn-trace/ { print $1 }')
[ -n "$examples" ] || { echo "FAIL: attn-trace examples listed no example"; exit 1; }
for e in $examples; do
  one "$e.text" run "$e"
  one "$e.json" run "$e" --format json
  one "$e.explain" run "$e" --explain
  one "$e.ascii" run "$e" --ascii
  one "$e.full" run "$e" --full --precision 6
  one "$e.stages" run "$e" --stages scores,softmax,out_proj --precision 2
  one "$e.until" run "$e" --until softmax
  one "$e.until_json" run "$e" --until scaling --format json
  one "$e.focus_query" run "$e" --focus query=1
  one "$e.focus_head" run "$e" --focus head=1,query=0 --format json
  one "$e.focus_batch" run "$e" --focus batch=0,query=2 --ascii
  one "$e.color" run "$e" --color always
  one "$e.color_focus" run "$e" --color always --focus query=0 --ascii
  one "$e.explain_ascii" run "$e" --explain --ascii --until masking
  one "$e.show" examples --show "$e"
  one "$e.markdown" run "$e" --format markdown
  one "$e.latex" run "$e" --format latex --stages masking,softmax
  one "$e.latex_fragment" run "$e" --format latex --latex-fragment --no-header --until scores
  one "$e.no_header" run "$e" --no-header --until scores
  for cell in 'projections.Q[0,0]' 'scores[0,1]' 'scaled[1,0]' 'masked[0,0]' 'weights[1,2]' \
    'weighted_values.weighted[0,1,1]' 'context[2,0]' 'output[0,1]' 'split_heads.K[1,0,1]' \
    'scores[0,0,1]' 'weights[0,1,0,1]' 'output[0,0,0]'; do
    slug=$(tr -c 'A-Za-z0-9_' '_' <<<"$cell" | sed 's/_*$//')
    one "$e.cell.$slug" explain "$cell" "$e"
  done
  one "$e.cell_json" explain 'weights[0,1]' "$e" --format json --precision 6
done

# The test inputs: text, JSON and the arithmetic of one cell.
for f in tests/cli/inputs/*.json tests/json/inputs/*.json; do
  name=$(basename "$(dirname "$(dirname "$f")")").$(basename "$f" .json)
  one "$name.text" run "$f"
  one "$name.json" run "$f" --format json
  one "$name.cell" explain 'weights[0,0]' "$f"
done

# Weights from state_dicts, with and without the prefix and head count they need.
for d in tests/state_dicts/*/; do
  name=state_dict.$(basename "$d")
  one "$name.plain" run "$d/input.json" --weights "$d/weights.json"
  one "$name.heads2" run "$d/input.json" --weights "$d/weights.json" --heads 2
done
one state_dict.encoder-second.prefix run tests/state_dicts/encoder-second-layer/input.json \
  --weights tests/state_dicts/encoder-second-layer/weights.json --weights-prefix layers.1.self_attn.
one state_dict.encoder-second.prefix_json run tests/state_dicts/encoder-second-layer/input.json \
  --weights tests/state_dicts/encoder-second-layer/weights.json --weights-prefix layers.1.self_attn. \
  --heads 2 --format json
one state_dict.gpt2.prefix run tests/state_dicts/gpt2-conv1d/input.json \
  --weights tests/state_dicts/gpt2-conv1d/weights.json --weights-prefix h.1.attn.
# safetensors: a layer of one dtype, a whole model's layer by its prefix.
one safetensors.bf16 run tests/safetensors/mha-bf16/input.json \
  --weights tests/safetensors/mha-bf16/model.safetensors --heads 2
one safetensors.encoder.prefix run tests/safetensors/encoder-two-layers/input.json \
  --weights tests/safetensors/encoder-two-layers/model.safetensors \
  --weights-prefix layers.1.self_attn. --heads 2 --stages projections
one safetensors.encoder.layers_listed run tests/safetensors/encoder-two-layers/input.json \
  --weights tests/safetensors/encoder-two-layers/model.safetensors --heads 2
one state_dict.encoder.explain explain 'output[1,2,0]' tests/state_dicts/encoder-layer/input.json \
  --weights tests/state_dicts/encoder-layer/weights.json --weights-prefix self_attn. --heads 2

# Every bad input's message.
for f in tests/bad_inputs/*.json tests/bad_inputs/*.txt; do
  one "bad_input.$(basename "$f")" run "$f"
done
# A bad safetensors file is a weights file: traced with the input expected.tsv gives it.
for f in tests/bad_inputs/*.safetensors; do
  one "bad_input.$(basename "$f")" run tests/safetensors/mha-f32/input.json --heads 2 --weights "$f"
done

# Usage: help, errors in flags, examples and init.
one help --help
one version --version
one no_subcommand
for sub in run explain examples init check; do one "help.$sub" "$sub" --help; done
one usage.unknown_flag run --frobnicate
one usage.flag_typo run --head 4
one usage.subcommand_typo rnu
one usage.precision run --precision 99
one usage.stage run --stages scroes
one usage.until run --until softmx
one usage.focus run --focus heads=1
one usage.focus_twice run --focus query=I,query=am
one usage.color run --color rainbow
one usage.format run --format yaml
one usage.memory run --memory-budget lots
one usage.memory_small run --memory-budget 4KiB
one usage.weighted_limit run --weighted-limit -5
one usage.explain_cell explain scores
one usage.explain_tensor explain 'score[0,0]'
one usage.explain_range explain 'scores[3,0]'
one usage.example_unknown run --example nope
one usage.example_typo run i-am-god
one usage.step_pipe run --step
one usage.heads_zero run --heads 0
one examples examples
one check.match check tests/cli/inputs/check-karim-right.json karim
one check.differs check tests/cli/inputs/check-karim-kqv.json karim
one check.differs_json check tests/cli/inputs/check-karim-kqv.json karim --format json
one check.unknown_name check tests/cli/inputs/check-typo.json karim
one usage.check_rtol check tests/cli/inputs/check-typo.json karim --rtol -1
one examples.unknown examples --show i-am-god
one init init
one init.math init --seq-len 4 --embed-dim 6 --heads 3 --seed 5 --layout math
one init.tokens init --tokens "the cat sat" --seed 2
one init.bad_heads init --heads 3

if [ "$mode" = --write ]; then
  echo "wrote $cases cases to $dir"
  exit 0
fi
recorded=$(find "$dir" -name '*.out' | wc -l)
[ "$recorded" = "$cases" ] ||
  { echo "FAIL: $dir holds $recorded recorded outputs, this script runs $cases cases"; differ=$((differ + 1)); }
if [ "$differ" -gt 0 ]; then
  echo "$differ of $cases cases differ. If the change is meant, run tools/update-snapshot.sh and read the diff."
  exit 1
fi
echo "ok: $cases cases print what tests/snapshot/expected/ recorded"
