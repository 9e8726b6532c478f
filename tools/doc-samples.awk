# The samples of a Markdown page, for tools/update-doc-samples.sh and tests/docs/check_samples.sh:
#   awk -v dir=DIR -f tools/doc-samples.awk PAGE
# A sample is a ```console block whose first line is "$ attn-trace ARGS…". For sample n this
# writes DIR/n.line (its line number), DIR/n.cmd (the "$ attn-trace …" line) and DIR/n.expected
# (the lines under it, up to the closing fence), and prints the number of samples. Exits 1 when a
# ``` block is never closed.
# It also splits ARGS into words as a shell would, for the scripts that accept quotes: DIR/n.args
# holds one word per line. A word is plain characters, or text in single quotes ('Q[am,1]',
# 'the cat sat'). Anything else a shell would read differently (double quotes, backslashes, $,
# `, |, <, >, ;, &, *, ?, parentheses, an unclosed quote) writes the reason to DIR/n.bad instead.
function save(name, text) { print text > (dir "/" n "." name); close(dir "/" n "." name) }
function split_args(rest,   i, c, word, inword, quoted, out) {
  out = ""; word = ""; inword = 0; quoted = 0
  for (i = 1; i <= length(rest); i++) {
    c = substr(rest, i, 1)
    if (quoted) { if (c == "'") quoted = 0; else word = word c; continue }
    if (c == " " || c == "\t") { if (inword) { out = out word "\n"; word = ""; inword = 0 }; continue }
    if (c == "'") { quoted = 1; inword = 1; continue }
    if (index("\"\\`$|<>;&*?()", c) > 0) {
      save("bad", "'" c "' is shell syntax: a sample's arguments are plain words or 'single-quoted' text")
      return
    }
    word = word c; inword = 1
  }
  if (quoted) { save("bad", "a ' is never closed"); return }
  if (inword) out = out word "\n"
  printf "%s", out > (dir "/" n ".args"); close(dir "/" n ".args")
}
!in_fence && /^```/ { in_fence = 1; first = 1; console = ($0 ~ /^```console[[:space:]]*$/); next }
in_fence && /^```[[:space:]]*$/ { in_fence = 0; if (inside) close(dir "/" n ".expected"); inside = 0; next }
in_fence && first {
  first = 0
  if (console && $0 ~ /^\$ attn-trace( |$)/) {
    n++; save("line", NR); save("cmd", $0); split_args(substr($0, length("$ attn-trace") + 1))
    printf "" > (dir "/" n ".expected"); inside = 1; next
  }
}
inside { print > (dir "/" n ".expected") }
END { if (in_fence) exit 1; print n + 0 }
