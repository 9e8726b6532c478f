#!/usr/bin/env bash
# Runs attn-trace on one bad input and checks the one clear message a user must get.
#   check.sh BINARY DIR NAME [check]
# DIR/expected.tsv has one line per bad file: NAME <tab> STATUS <tab> FRAGMENT [<tab> ARGS...]
# (lines starting with # are comments). The file DIR/NAME is traced with `attn-trace run`, and any
# ARGS (e.g. --memory-budget 1MiB) after it; a weights file (*.safetensors) is given as
# `attn-trace run ARGS... --weights NAME` instead, ARGS naming the input it is traced with
# (relative to DIR). The run must exit with STATUS, print FRAGMENT (a fixed
# string) and nothing that looks like a crash, print exactly one "attn-trace: error:" line, which
# names the file first, and write nothing to standard output.
set -u
binary=$1 dir=$2 name=$3 subcommand=${4:-run}
line=$(awk -F '\t' -v name="$name" '$1 == name { print; exit }' "$dir/expected.tsv")
[ -n "$line" ] || { echo "FAIL: no line for $name in $dir/expected.tsv"; exit 1; }
IFS=$'\t' read -r -a fields <<<"$line"
status=${fields[1]} fragment=${fields[2]}
extra=("${fields[@]:3}")

out=$(mktemp) err=$(mktemp) && trap 'rm -f "$out" "$err"' EXIT
if [ "$subcommand" = check ]; then
  cd "$dir" && "$binary" check "$name" "${extra[@]}" >"$out" 2>"$err" </dev/null
elif [[ $name == *.safetensors ]]; then
  cd "$dir" && "$binary" run "${extra[@]}" --weights "$name" >"$out" 2>"$err" </dev/null
else
  cd "$dir" && "$binary" run "$name" "${extra[@]}" >"$out" 2>"$err" </dev/null
fi
actual=$?

fail() {
  echo "FAIL: $name: $*"
  echo "--- stderr:"; cat "$err"; echo "--- stdout ($(wc -c <"$out") bytes):"; head -c 2000 "$out"
  exit 1
}
[ "$actual" = "$status" ] || fail "exit status $actual, expected $status"
grep -qF -- "$fragment" "$err" || fail "stderr lacks: $fragment"
if grep -qE 'terminate called|Aborted|Segmentation|runtime error:|AddressSanitizer|what\(\)' "$err"; then
  fail "stderr looks like a crash"
fi
[ "$(grep -c '^attn-trace: error:' "$err")" = 1 ] || fail "expected exactly one error line"
grep -q "^attn-trace: error: $name[:]" "$err" || fail "the error line does not start with the file name"
[ ! -s "$out" ] || fail "standard output is not empty"
echo "ok: $name: exit $actual, found: $fragment"
