#!/usr/bin/env bash
# Replays every input the fuzzer once crashed on (tests/fuzz/regressions/) through the real binary:
# each must end in success or one clear error (exit 0 or 1), never a crash.
#   replay.sh BINARY DIR
set -u
binary=$1 dir=$2
failed=0
inputs=("$dir"/*.json)
[ -e "${inputs[0]}" ] || { echo "FAIL: no regression input (*.json) in $dir"; exit 1; }
for input in "${inputs[@]}"; do
  out=$("$binary" run "$input" --format json -o /dev/null 2>&1)
  status=$?
  if { [ "$status" != 0 ] && [ "$status" != 1 ]; } ||
     grep -qE 'terminate called|Aborted|Segmentation|runtime error:|AddressSanitizer' <<<"$out"; then
    echo "FAIL: $input: exit $status"; echo "$out" | head -20; failed=1
  else
    echo "ok: $input: exit $status"
  fi
done
exit $failed
