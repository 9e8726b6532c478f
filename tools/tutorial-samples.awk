# The samples of a docs/tutorials page, for tools/update-tutorials.sh and
# tests/docs/check_tutorials.sh:
#   awk -v dir=DIR -f tools/tutorial-samples.awk PAGE
# A sample is a ```console block whose first line is "$ attn-trace ARGS…". For sample n this
# writes DIR/n.line (its line number), DIR/n.cmd (the "$ attn-trace …" line) and DIR/n.expected
# (the lines under it, up to the closing fence), and prints the number of samples. Exits 1 when a
# ``` block is never closed.
function save(name, text) { print text > (dir "/" n "." name); close(dir "/" n "." name) }
!in_fence && /^```/ { in_fence = 1; first = 1; console = ($0 ~ /^```console[[:space:]]*$/); next }
in_fence && /^```[[:space:]]*$/ { in_fence = 0; if (inside) close(dir "/" n ".expected"); inside = 0; next }
in_fence && first {
  first = 0
  if (console && $0 ~ /^\$ attn-trace( |$)/) {
    n++; save("line", NR); save("cmd", $0); printf "" > (dir "/" n ".expected"); inside = 1; next
  }
}
inside { print > (dir "/" n ".expected") }
END { if (in_fence) exit 1; print n + 0 }
