#!/usr/bin/env bash
# Tests `attn-trace run --color` for real: when it shades the score and weight tables.
#   bash tests/cli/color_terminal.sh path/to/attn-trace
#
# In a terminal (a private tmux server, 80 columns wide, read back with capture-pane -e):
#   --color auto shades (48;5; backgrounds, the "  shade" legend); NO_COLOR=1 turns that off,
#   NO_COLOR= (empty) does not; COLORTERM=truecolor or 24bit gives 24-bit backgrounds (48;2;);
#   --color never and -o FILE give none; the text on the screen is the --color never text, line for
#   line (so no line is longer than 80 columns and shading moves nothing).
# Through a pipe: auto gives no escape byte at all, always does (256 colours, or 24-bit with
#   COLORTERM), never none; --format json none. For every bundled example the shaded text with its
#   escapes stripped is the --color never text, no line over 80 characters. In multihead, the cells
#   a mask blocked, and only those, are on the blocked shade (256 colours: 124; 24-bit: 190;30;45).
# shellcheck disable=SC2016  # command lines in single quotes: $bin expands in the shell running them
set -u

# shellcheck source=tmux_lib.sh
source "$(dirname "$0")/tmux_lib.sh" color_terminal.sh "${1:-}" "runs attn-trace"

timeout_s=10
esc=$'\e'
screen=""  # the text of what is being checked, shown when a check fails

fail() {
  printf 'FAIL: %s\n' "$*" | cat -v >&2
  if [ -n "$screen" ]; then
    echo "----- what was checked (escapes shown as ^[) -----" >&2
    printf '%s\n' "$screen" | cat -v | head -60 >&2
    echo "--------------------------------------------------" >&2
  fi
  exit 1
}

# has TEXT WHAT / lacks TEXT WHAT: on `screen`.
has() { [[ $screen == *"$1"* ]] || fail "expected $2: no '$1' in it"; }
lacks() { [[ $screen != *"$1"* ]] || fail "expected $2: '$1' is in it"; }

# Escape sequences of colour (SGR) out, trailing blanks and blank last lines too: the visible text.
visible() { sed -e "s/$esc\[[0-9;]*m//g" -e 's/[[:space:]]*$//' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }

# legend yes|no WHAT: whether a line of the visible `screen` starts "  shade ", the scale's legend.
legend() {
  local shown=no
  visible <<<"$screen" | grep -q '^  shade ' && shown=yes
  [ "$shown" = "$1" ] || fail "expected $2 (legend shown: $shown)"
}

# Shading adds one line to each shaded table, its legend ("  shade  …") under the table's name;
# without those the text is that of --color never. Prints the text without the legends, and the
# count of tables without their legend, or with one too many, as a last line "legends: N off".
without_legends() {
  awk 'function shaded(line) { return line ~ /^(scores|scaled|masked|weights) \(/ }
       /^  shade / && shaded(prev) { prev = $0; next }
       { if (shaded(prev)) off++ } /^  shade / { off++ }
       { print; prev = $0 }
       END { print "legends: " off + 0 " off" }'
}

# same_text WHAT EXPECTED-FILE [plain]: `screen`, made visible and without its legends, is the
# text of EXPECTED-FILE (a --color never run) line for line, and every shaded table has its legend
# (plain: `screen` is not shaded, and has the text of EXPECTED-FILE as it is).
same_text() {
  local got want
  got=$(visible <<<"$screen" | without_legends)
  want=$(visible <"$2")$'\n'"legends: 0 off"
  [ "${3:-}" = plain ] && { got=$(visible <<<"$screen"); want=$(visible <"$2"); }
  [ "$got" = "$want" ] ||
    fail "expected $1 to read as the --color never text, line for line, with a legend under each shaded table; diff:"$'\n'"$(diff <(printf '%s\n' "$want") - <<<"$got" | head -20)"
}

# --- In a terminal -------------------------------------------------------------------------------

# The runner in each pane: runs a command line ($bin: the binary) with NO_COLOR and COLORTERM unset
# unless it sets them, records its status, and keeps the pane open to be read.
cat >"$tmp/runner.sh" <<'EOF'
dir=$1
export bin=$2
unset NO_COLOR COLORTERM
bash -c "$3"
echo $? >"$dir/status.new" && mv "$dir/status.new" "$dir/status"
exec sleep 60
EOF

# start NAME COMMAND-LINE: an 80×60 terminal running COMMAND-LINE. All start at once, to save time.
start() {
  mkdir -p "$tmp/$1"
  tm new-session -d -s "$1" -x 80 -y 60 bash "$tmp/runner.sh" "$tmp/$1" "$bin" "$2" ||
    fail "could not start tmux session $1"
}

# finish NAME: wait for its command to end with status 0; `screen` is then everything it showed,
# colours as escape sequences (capture-pane -e), from the first line scrolled away to the last.
finish() {
  local deadline=$((SECONDS + timeout_s))
  until [ -e "$tmp/$1/status" ]; do
    [ "$SECONDS" -ge "$deadline" ] && { screen=$(tm capture-pane -p -t "$1"); fail "$1: no end in ${timeout_s}s"; }
    sleep 0.05
  done
  screen=$(tm capture-pane -p -e -S - -t "$1")
  [ "$(cat "$tmp/$1/status")" = 0 ] || fail "$1: expected status 0, got $(cat "$tmp/$1/status")"
}

"$bin" run --color never >"$tmp/never.txt" || fail "attn-trace run --color never failed"
"$bin" run multihead --color never >"$tmp/never-multihead.txt" || fail "run multihead failed"

start auto '"$bin" run'
start auto_multihead '"$bin" run multihead --color auto'
start no_color 'NO_COLOR=1 "$bin" run'
start no_color_empty 'NO_COLOR= "$bin" run'
start truecolor 'COLORTERM=truecolor "$bin" run multihead'
start 24bit 'COLORTERM=24bit "$bin" run'
start never 'COLORTERM=truecolor "$bin" run --color never'
start to_file '"$bin" run -o "'"$tmp"'/auto-file.txt"'

finish auto
has "48;5;" "256-colour backgrounds on a terminal (--color auto)"
lacks "48;2;" "no 24-bit colour without COLORTERM"
legend yes "the shading legend"
same_text "the shaded screen" "$tmp/never.txt"

finish auto_multihead
has "48;5;124m" "the blocked shade (256 colours: 124) in multihead"
same_text "the shaded screen of multihead" "$tmp/never-multihead.txt"
"$bin" run multihead --color always >"$tmp/always-multihead.txt"
blocked_here=$(grep -o '48;5;124m' <<<"$screen" | wc -l)
blocked_piped=$(grep -o '48;5;124m' "$tmp/always-multihead.txt" | wc -l)
[ "$blocked_here" = "$blocked_piped" ] ||
  fail "expected as many blocked cells on the screen ($blocked_here) as through a pipe ($blocked_piped)"

finish no_color
lacks "$esc" "no escape sequence at all with NO_COLOR=1"
legend no "no shading legend with NO_COLOR=1"
same_text "the NO_COLOR screen" "$tmp/never.txt" plain

finish no_color_empty
has "48;5;" "shading with NO_COLOR set but empty"
legend yes "the shading legend with NO_COLOR empty"

finish truecolor
has "48;2;" "24-bit backgrounds with COLORTERM=truecolor"
lacks "48;5;" "no 256-colour backgrounds with COLORTERM=truecolor"
has "48;2;190;30;45m" "the blocked shade (24-bit: 190;30;45) in multihead"
same_text "the 24-bit screen of multihead" "$tmp/never-multihead.txt"

finish 24bit
has "48;2;" "24-bit backgrounds with COLORTERM=24bit"
lacks "48;5;" "no 256-colour backgrounds with COLORTERM=24bit"
lacks "48;2;190;30;45m" "no blocked shade in i-am-good (it has no mask)"

finish never
lacks "$esc" "no escape sequence with --color never"
legend no "no legend with --color never"

finish to_file
screen=$(cat "$tmp/auto-file.txt")
lacks "$esc" "no escape sequence in -o FILE under --color auto, even run from a terminal"
same_text "-o FILE" "$tmp/never.txt" plain

# --- Through a pipe ------------------------------------------------------------------------------

# piped NAME COMMAND-LINE: run it into a pipe; `screen` is what came out, also in $tmp/NAME.
piped() {
  screen=""
  (export bin; unset NO_COLOR COLORTERM; bash -o pipefail -c "$2 | cat" >"$tmp/$1.txt") ||
    fail "$1: '$2' failed"
  screen=$(cat "$tmp/$1.txt")
}

piped pipe_auto '"$bin" run multihead'
lacks "$esc" "no escape byte through a pipe under --color auto"
piped pipe_always '"$bin" run --color always'
has "48;5;" "256-colour backgrounds through a pipe with --color always"
lacks "48;2;" "no 24-bit colour without COLORTERM"
piped pipe_always_no_color 'NO_COLOR=1 "$bin" run --color always'
has "48;5;" "--color always shading even with NO_COLOR=1"
piped pipe_truecolor 'COLORTERM=truecolor "$bin" run --color always'
has "48;2;" "24-bit backgrounds with --color always and COLORTERM=truecolor"
lacks "48;5;" "no 256-colour backgrounds with COLORTERM=truecolor"
piped pipe_other 'COLORTERM=yes "$bin" run --color always'
has "48;5;" "256 colours when COLORTERM is neither truecolor nor 24bit"
piped pipe_never 'COLORTERM=truecolor "$bin" run multihead --color never'
lacks "$esc" "no escape byte with --color never"
piped pipe_json '"$bin" run --format json --color always'
lacks "$esc" "no escape byte in --format json"
screen=""
(unset NO_COLOR COLORTERM; "$bin" run --color always -o "$tmp/always-file.txt") ||
  fail "--color always -o FILE failed"
grep -q "$esc\[[0-9;]*48;5;" "$tmp/always-file.txt" ||
  fail "expected --color always to shade into a file (-o) too"

# Every example: shading moves nothing, adds nothing but colour escapes, stays within 80 columns.
examples=$("$bin" examples | awk 'NF == 0 { exit } { print $1 }')
[[ $examples == *multihead* ]] || fail "expected multihead among the examples: $examples"
for example in $examples; do
  "$bin" run "$example" --color never >"$tmp/never-$example.txt" || fail "$example: run failed"
  for colorterm in "" truecolor; do
    piped "$example-$colorterm" "COLORTERM=$colorterm \"\$bin\" run $example --color always"
    has "48;" "shaded tables in $example (COLORTERM=$colorterm)"
    [[ $(sed "s/$esc\[[0-9;]*m//g" "$tmp/$example-$colorterm.txt") != *"$esc"* ]] ||
      fail "$example: an escape sequence other than a colour (SGR)"
    same_text "$example (COLORTERM=$colorterm)" "$tmp/never-$example.txt"
    rest=$(visible <<<"$screen")
    width=$(printf '%s\n' "$rest" | LC_ALL=C.UTF-8 wc -L)
    [ "$width" -le 80 ] || fail "$example: a line $width columns wide; at most 80 expected:"$'\n'"$(
      printf '%s\n' "$rest" | LC_ALL=C.UTF-8 awk 'length > 80' | head -3)"
  done
done

# Blocked cells. check_blocked FILE CODE: in FILE (multihead, shaded), the cells of the masked and
# weights tables on background CODE are exactly those the mask blocks (its 0s), in every head; in
# the masked table those show −∞ and no other cell does; in weights they show 0.0000. CODE appears
# nowhere else but in those two tables' legends.
check_blocked() {
  local file=$1 code=$2 report
  report=$(sed -E "s/$esc\[([0-9;]*)m/\x01\1\x02/g" "$file" | awk -v code="$code" '
    function problem(text) { print "line " NR ": " text ": " $0; bad = 1 }
    /^[^ ]/ { table = "" }
    /^mask \(/ { table = "mask"; next }
    /^masked \(|^weights \(/ { table = $1; row = 0; next }
    table == "mask" && /^    [^ ]+( +[01])+$/ {
      flags = ""
      for (i = 2; i <= NF; i++) flags = flags ($i == "0" ? "B" : ".")
      mask[rows++] = flags
      next
    }
    index($0, code "\002") && /^  shade / { legends++; next }
    (table == "masked" || table == "weights") && /^    [^ ]/ && index($0, "\001") {
      n = split($0, parts, "\001")
      flags = ""
      for (i = 2; i <= n; i++) {
        split(parts[i], cell, "\002")
        if (cell[1] == "0") continue          # the reset after a cell
        text = cell[2]; gsub(/ /, "", text)
        is_blocked = cell[1] ~ ("(^|;)" code "$")
        flags = flags (is_blocked ? "B" : ".")
        if (table == "masked" && is_blocked != (text == "−∞")) problem("blocked shade and −∞ disagree")
        if (table == "weights" && is_blocked && text != "0.0000") problem("a blocked weight not 0")
        if (is_blocked) cells++
      }
      if (rows == 0) { problem("a shaded row before the mask table"); next }
      if (flags != mask[row % rows]) problem("blocked cells " flags ", the mask says " mask[row % rows])
      row++; checked++
      next
    }
    index($0, code "\002") { problem("the blocked shade outside the masked and weights tables") }
    END {
      if (rows == 0 || checked == 0) { print "no mask or no shaded masked/weights rows found"; bad = 1 }
      if (legends != 2) { print legends + 0 " legends with the blocked shade; 2 expected"; bad = 1 }
      if (!bad) print "ok " cells
    }')
  [[ $report == ok* ]] || { screen=""; fail "$file: blocked shade $code:"$'\n'"$report"; }
  [ "${report#ok }" -eq 24 ] || fail "$file: expected 24 blocked cells (6 per head, 2 heads, masked and weights), found ${report#ok }"
}
check_blocked "$tmp/multihead-.txt" "48;5;124"
check_blocked "$tmp/multihead-truecolor.txt" "48;2;190;30;45"
for f in "$tmp/i-am-good-.txt" "$tmp/i-am-good-truecolor.txt"; do
  ! grep -qE "48;5;124m|48;2;190;30;45m" "$f" || fail "$f: expected no blocked shade without a mask"
done

echo "color_terminal.sh: all checks passed"
