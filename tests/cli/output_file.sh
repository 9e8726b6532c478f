#!/usr/bin/env bash
# output_file.sh BINARY BAD_INPUT
# `-o PATH` through the real binary: the destination ends up with either its old contents or the
# complete new ones — never a partial or empty file — and no temporary file is left behind.
set -u
binary=$1 bad_input=$2
dir=$(mktemp -d) && trap 'rm -rf "$dir"' EXIT
failures=0 passes=0
check() {  # DESCRIPTION, then a command that succeeds when the check holds
  local what=$1; shift
  if "$@"; then passes=$((passes + 1)); echo "ok: $what"; else failures=$((failures + 1)); echo "FAIL: $what"; fi
}
no_temporaries() { [ -z "$(find "$dir" -name '.*.tmp-*')" ]; }

# 1. A new file, complete.
"$binary" run --format json -o "$dir/trace.json" >"$dir/stdout" 2>&1
check "writes a new file, exit 0" [ $? -eq 0 ]
check "prints nothing on stdout" [ ! -s "$dir/stdout" ]
"$binary" run --format json >"$dir/expected.json"
check "the file is the whole trace" cmp -s "$dir/trace.json" "$dir/expected.json"
check "no temporary file left" no_temporaries

# 2. A bad input keeps an existing file.
echo "old and good" >"$dir/keep.json"
"$binary" run "$bad_input" -o "$dir/keep.json" >"$dir/out" 2>&1
check "bad input exits 1" [ $? -eq 1 ]
check "bad input keeps the existing file" [ "$(cat "$dir/keep.json")" = "old and good" ]

# 3. A failure in the middle of writing: the file-size limit stops the write after 4 KiB (the
#    trace is larger); with SIGXFSZ ignored, write(2) fails with EFBIG instead of killing us.
(
  trap '' XFSZ
  ulimit -f 4
  exec "$binary" run --format json -o "$dir/keep.json"
) >"$dir/out" 2>&1
status=$?
check "a write failure exits 1 (got $status)" [ $status -eq 1 ]
check "a write failure says so" grep -q "attn-trace: error: cannot write $dir/keep.json" "$dir/out"
check "a write failure keeps the existing file" [ "$(cat "$dir/keep.json")" = "old and good" ]
check "a write failure leaves no temporary" no_temporaries
(
  trap '' XFSZ
  ulimit -f 4
  exec "$binary" run --format json -o "$dir/new.json"
) >/dev/null 2>&1
check "a write failure leaves no new file" [ ! -e "$dir/new.json" ]

# 4. Paths that cannot be written.
"$binary" run -o "$dir/missing/trace.txt" >"$dir/out" 2>&1
check "a missing folder exits 1" [ $? -eq 1 ]
check "a missing folder is named" grep -q "the folder $dir/missing does not exist" "$dir/out"
"$binary" run -o "$dir" >"$dir/out" 2>&1
check "a directory as output exits 1" [ $? -eq 1 ]

echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
