#!/usr/bin/env bash
# The bash completion, sourced into bash and driven as bash would: COMP_WORDS and COMP_CWORD set
# by hand, then _attn_trace. The stage and example names it must offer come from the binary.
#   check_completion.sh BINARY COMPLETION_FILE
set -u
binary=$1 completion=$2
fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=/dev/null
source "$completion" || fail "cannot source $completion"
complete -p attn-trace >/dev/null 2>&1 || fail "sourcing it registers no completion for attn-trace"

# complete WORD... : what _attn_trace offers for the last word, sorted, one line.
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _attn_trace
  printf '%s\n' "${COMPREPLY[@]}" | sort | xargs
}
expect() {
  local expected=$1 actual
  shift
  actual=$(complete_words "$@")
  [ "$actual" = "$expected" ] || fail "attn-trace ${*:2}<TAB> offers '$actual', expected '$expected'"
  checked=$((checked + 1))
}
sorted() { tr ', ' '\n\n' | awk NF | sort | xargs; }
checked=0

stages=$("$binary" run --stages x 2>&1 | sed -n 's/.*stages are: //p' | sorted)
examples=$("$binary" examples | awk 'NF == 0 {exit} {print $1}' | sorted)
[ "$(wc -w <<<"$stages")" -ge 12 ] || fail "could not read the stages from the binary: $stages"
[ "$(wc -w <<<"$examples")" -ge 3 ] || fail "could not read the examples from the binary: $examples"

expect "run" attn-trace r
expect "check examples explain init run" attn-trace ""
expect "--rtol" attn-trace check --rt
expect "json text" attn-trace check mine.npz --format ""
expect "--help --version" attn-trace --
expect "--heads --help" attn-trace run --he
expect "--heads --help" attn-trace init --he
expect "--precision" attn-trace explain --pre
expect "--show" attn-trace examples --s
expect "$stages" attn-trace run --stages ""
expect "$stages" attn-trace run ex.json --until ""
expect "scores,softmax" attn-trace run --stages scores,so
expect "$examples" attn-trace run --example ""
expect "$examples" attn-trace examples --show ""
expect "html json latex markdown npz text" attn-trace run --format ""
expect "--format=json" attn-trace explain 'Q[0,0]' --format=j
expect "always auto" attn-trace run --color a
expect "math torch" attn-trace init --layout ""
expect "karim" attn-trace run ka
# Files: FILE and --weights offer the files of the current directory.
cd "$(mktemp -d)" && trap 'rm -rf "$PWD"' EXIT
touch layer.json layer-weights.json
expect "layer-weights.json layer.json" attn-trace run --weights lay
expect "layer-weights.json layer.json" attn-trace run lay
expect "layer-weights.json layer.json" attn-trace check lay
echo "ok: $checked completions"
