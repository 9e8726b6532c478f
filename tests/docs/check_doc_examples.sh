#!/usr/bin/env bash
# Checks that every complete JSON example in a Markdown document actually traces.
#   check_doc_examples.sh BINARY DOC.md
# Every fenced block opened by the line "```json example" is written to a temporary file and run
# as `BINARY run FILE`. Blocks opened by a plain "```json" (fragments, intentionally bad files) are
# not run. Prints one line per block and a final summary line; exits 1 if any run fails, and also
# if the document has no such block at all (a check that cannot fail is worthless), 2 on bad usage.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY DOC.md" >&2
  exit 2
fi
binary=$1 doc=$2
[ -x "$binary" ] || { echo "error: $binary: not an executable" >&2; exit 2; }
[ -r "$doc" ] || { echo "error: $doc: cannot read" >&2; exit 2; }

dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT

# Split: block N goes to $dir/block-N.json; $dir/index lists "N LINE" (LINE: the fence's line in DOC).
# An unterminated block is reported by awk and counts as a failure.
awk -v dir="$dir" '
  !inside && /^[ \t]*```json[ \t]+example[ \t]*$/ {
    inside = 1; n++; start = NR
    file = sprintf("%s/block-%d.json", dir, n)
    printf "" > file
    print n, NR > (dir "/index")
    next
  }
  inside && /^[ \t]*```[ \t]*$/ { inside = 0; close(file); next }
  inside { print > file }
  END {
    if (inside) {
      printf "unterminated ```json example block opened at line %d\n", start > "/dev/stderr"
      exit 3
    }
  }
' "$doc"
split_status=$?
if [ "$split_status" -ne 0 ]; then
  echo "FAIL: $doc: could not extract the examples (awk exit $split_status)"
  exit 1
fi

if [ ! -s "$dir/index" ]; then
  echo "FAIL: $doc: no \`\`\`json example blocks found"
  exit 1
fi

passed=0 failed=0
while read -r n line; do
  file="$dir/block-$n.json"
  out="$dir/out-$n.txt"
  if "$binary" run "$file" </dev/null >"$out" 2>&1; then
    echo "ok: block $n ($doc:$line)"
    passed=$((passed + 1))
  else
    status=$?
    echo "FAIL: block $n ($doc:$line): '$binary run' exited $status"
    echo "--- block $n:"
    cat "$file"
    echo "--- output:"
    cat "$out"
    echo "---"
    failed=$((failed + 1))
  fi
done <"$dir/index"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
