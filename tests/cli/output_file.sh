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
# So does a trace refused for its memory budget, and it creates no new file.
"$binary" run -o "$dir/keep.json" --memory-budget 100 >"$dir/out" 2>&1
check "a trace above the memory budget exits 1" [ $? -eq 1 ]
check "a trace above the memory budget keeps the existing file" \
  [ "$(cat "$dir/keep.json")" = "old and good" ]
"$binary" run -o "$dir/refused.json" --memory-budget 100 >"$dir/out" 2>&1
check "a trace above the memory budget leaves no new file" [ ! -e "$dir/refused.json" ]

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

# 5. Ctrl-C or kill in the middle of a long export: the temporary file goes with the process.
python3 -c 'import json; print(json.dumps({"input": [[((i * 7 + j * 3) % 11) / 10 - 0.5 for j in range(64)] for i in range(300)]}))' >"$dir/long.json"
"$binary" run "$dir/long.json" --format json --weighted-limit 100000000 -o "$dir/long-trace.json" &
pid=$!
started=no
for _ in $(seq 200); do
  [ -n "$(find "$dir" -name '.*.tmp-*')" ] && started=yes && break
  sleep 0.01
done
kill -TERM $pid
wait $pid
status=$?
check "the export was writing when killed" [ $started = yes ]
check "a killed export dies by SIGTERM (status $status)" [ $status -eq 143 ]
check "a killed export leaves no temporary" no_temporaries
check "a killed export leaves no file" [ ! -e "$dir/long-trace.json" ]

# 6. Destinations that are not regular files are written in place; links are followed.
mkfifo "$dir/fifo"
cat "$dir/fifo" >"$dir/from-fifo" &
"$binary" run --stages input -o "$dir/fifo" >/dev/null 2>&1
wait
check "a FIFO stays a FIFO" [ -p "$dir/fifo" ]
check "a FIFO receives the trace" grep -q "attn-trace · I am good" "$dir/from-fifo"
echo old >"$dir/real.json" && chmod 600 "$dir/real.json" && ln -s real.json "$dir/link.json"
"$binary" run --stages input -o "$dir/link.json" >/dev/null 2>&1
check "a link stays a link" [ -L "$dir/link.json" ]
check "the linked file is replaced" grep -q "I am good" "$dir/real.json"
check "a replaced file keeps its permissions" [ "$(stat -c %a "$dir/real.json")" = 600 ]

echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
