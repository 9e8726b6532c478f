#!/usr/bin/env bash
# check_grade.sh BINARY
# docs/check/grade.py, the teacher's grading script of docs/check.md, run as a teacher would on
# docs/check/student.py (the correct submission) and on submissions with a bug: the grade and the
# feedback must be the ones the page promises, so the script cannot rot.
#   - student.py: 6/6, exit 0;
#   - student.py with the softmax over the wrong axis: 5/6 (attn_output right given its own
#     attn_weights), the feedback names softmax_wrong_axis; --json says the same as data;
#   - a submission that raises, or returns q transposed: exit 1 and a message that says why.
# Uses /usr/bin/python3 (numpy). Fails listing every problem.
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: check_grade.sh BINARY" >&2; exit 2; }
binary=$1
if [[ $binary == */* && $binary != /* ]]; then binary=$PWD/$binary; fi
root=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3
grade=$root/docs/check/grade.py
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
problems=0
fail() { echo "FAIL: $*"; problems=$((problems + 1)); }

# run NAME SUBMISSION [ARGS…]: grade.py's output in $work/NAME.out, its exit status in $status.
run() {
  local name=$1 submission=$2; shift 2
  status=0
  (cd "$work" && "$python" "$grade" "$submission" --attn-trace "$binary" "$@") \
    >"$work/$name.out" 2>&1 || status=$?
}
expect() {  # expect NAME STATUS TEXT…: exit status, and each TEXT a line of the output
  local name=$1 want=$2; shift 2
  [ "$status" -eq "$want" ] || fail "$name: exit status $status, expected $want"
  for text in "$@"; do
    grep -qF -- "$text" "$work/$name.out" || fail "$name: no line with '$text'"
  done
  if [ "$problems" -gt 0 ]; then sed "s/^/    $name| /" "$work/$name.out"; fi
}

run correct "$root/docs/check/student.py"
expect correct 0 "student.py: 6/6"
grep -q "wrong\|missing" "$work/correct.out" && fail "correct: feedback for a correct submission"

sed 's/axis=-1, keepdims=True/axis=-2, keepdims=True/g' "$root/docs/check/student.py" \
  >"$work/wrong_axis.py"
cmp -s "$root/docs/check/student.py" "$work/wrong_axis.py" && fail "the bug was not made"
run wrong_axis "$work/wrong_axis.py"
expect wrong_axis 0 "wrong_axis.py: 5/6" "attn_weights: wrong (0 points)" \
  "attn_output: right given your attn_weights (1 point)" \
  "The first wrong tensor is attn_weights (stage softmax): 20 of 32 numbers differ." \
  "Likely mistake (softmax_wrong_axis)"
run wrong_axis_json "$work/wrong_axis.py" --json
[ "$status" -eq 0 ] || fail "wrong_axis --json: exit status $status"
"$python" - "$work/wrong_axis_json.out" <<'PY' || fail "wrong_axis --json: not the grade expected"
import json, sys
g = json.load(open(sys.argv[1]))
assert (g["points"], g["out_of"]) == (5, 6), g
assert g["report"]["diagnosis"][0]["id"] == "softmax_wrong_axis", g["report"]["diagnosis"]
assert g["report"]["first_difference"]["name"] == "attn_weights"
PY

printf 'def attention(*args):\n    raise ValueError("shapes do not align")\n' >"$work/crash.py"
run crash "$work/crash.py"
expect crash 1 "could not run attention()" "ValueError: shapes do not align"

sed 's/return {"q": q,/return {"q": q.T,/' "$root/docs/check/student.py" >"$work/transposed.py"
cmp -s "$root/docs/check/student.py" "$work/transposed.py" && fail "q was not transposed"
run transposed "$work/transposed.py"
expect transposed 1 "attn-trace check could not compare the tensors" "it looks transposed"

if [ "$problems" -gt 0 ]; then echo "$problems problem(s)"; exit 1; fi
echo "ok: grade.py grades a correct submission 6/6, a wrong softmax axis 5/6, and refuses two broken ones"
