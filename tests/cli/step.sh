#!/usr/bin/env bash
# Tests `attn-trace run --step` for real: the binary runs in a terminal (a private tmux server),
# keys are sent to it and the screen it draws is read back.
#   bash tests/cli/step.sh path/to/attn-trace
#
# On a terminal it checks: one stage per page with the footer "stage N/T · Enter next · b back ·
# q quit"; the header on page 1 only (the screen is cleared between pages); Enter, space, n and →
# go on; b, p and ← go back, and b on page 1 stays there; other keys (a lone Esc too) do nothing;
# a page taller than the screen comes a screenful at a time ("lines 1–22 of N · Enter more"), in a
# narrow window too, where every line must still show, and is drawn again when the window is
# resized; keys held down leave nothing for the
# shell; the
# last page has
# the summary and "Enter end", and Enter there ends with status 0; q, Ctrl-C and Ctrl-D end with
# status 0 and give the terminal back as it was (stty before = stty after); --ascii's footer;
# --stages numbering pages by the stages' own numbers; two heads (multihead).
# Off a terminal (stdin or stdout not a terminal, --format json, -o FILE) it checks that --step is
# ignored with exactly one note on standard error and the whole walkthrough printed.
# shellcheck disable=SC2016  # command lines in single quotes: $bin expands in the shell running them
set -u

# shellcheck source=tmux_lib.sh
source "$(dirname "$0")/tmux_lib.sh" step.sh "${1:-}" "drives --step"

timeout_s=5      # how long a screen may take to appear
session=""       # the tmux session of the scenario under way
screen=""        # the last screen captured
history=""       # non-empty: capture the lines scrolled off the top as well
first_stage=1    # the number of the first page's stage (it has the header above its title)

fail() {
  echo "FAIL: $*" >&2
  if [ -n "$screen" ]; then
    echo "----- the screen -----" >&2
    printf '%s\n' "$screen" >&2
    echo "----------------------" >&2
  fi
  exit 1
}

# The runner in each pane: runs a command line (with $bin the binary under test), then records its
# exit status and the terminal's settings before and after, and keeps the pane open to be read.
cat >"$tmp/runner.sh" <<'EOF'
dir=$1
export bin=$2
unset NO_COLOR COLORTERM
stty -g >"$dir/stty.before"
bash -o pipefail -c "$3"
status=$?
stty -g >"$dir/stty.after"
stty -a >"$dir/stty.after.long"
# Keys pressed ahead of the program's end must not be left for the shell after it.
if read -r -t 0.3 _; then echo yes; else echo no; fi >"$dir/leftover"
echo "$status" >"$dir/status.new" && mv "$dir/status.new" "$dir/status"
exec sleep 60
EOF

# start NAME COMMAND-LINE [COLUMNS ROWS]: a new terminal (100×60 unless given) running
# COMMAND-LINE (bash; $bin is the binary).
start() {
  session=$1
  screen=""
  mkdir "$tmp/$session" || fail "session name $session used twice"
  tm new-session -d -s "$session" -x "${3:-100}" -y "${4:-60}" \
    bash "$tmp/runner.sh" "$tmp/$session" "$bin" "$2" ||
    fail "could not start tmux session $session"
}

capture() { screen=$(tm capture-pane -p ${history:+-J -S -} -t "$session" 2>/dev/null); }

# expect_screen TEXT WHAT: wait until TEXT shows on the screen, or fail saying WHAT was expected.
expect_screen() {
  local deadline=$((SECONDS + timeout_s))
  while :; do
    capture
    [[ $screen == *"$1"* ]] && return 0
    [ "$SECONDS" -ge "$deadline" ] && fail "expected $2: no line with '$1' after ${timeout_s}s"
    sleep 0.05
  done
}

# The screen just captured must (not) show TEXT. (Bash only, no grep: forks are slow on some
# machines, and a screen is checked many times.)
screen_has() { [[ $screen == *"$1"* ]] || fail "expected $2: no '$1' on the screen"; }
screen_lacks() { [[ $screen != *"$1"* ]] || fail "expected $2: '$1' is on the screen"; }

# The screen's lines that are not blank, in `lines`.
screen_lines() {
  local line
  lines=()
  while IFS= read -r line; do
    [[ $line == *[![:space:]]* ]] && lines+=("$line")
  done <<<"$screen"
}

# expect_page N T ID [dot] [next]: page N of T shows (footer, its own stage title at the top, the
# footer at the bottom) and the program still waits for a key.
expect_page() {
  local n=$1 total=$2 id=$3 dot=${4:-" · "} next=${5:-next}
  local footer="stage $n/$total${dot}Enter $next${dot}b back${dot}q quit"
  expect_screen "$footer" "page $n/$total ($id) with its footer"
  local title="━━ $n/$total · $id · "
  [ "$dot" = " | " ] && title="== $n/$total | $id | "
  screen_lines
  [ "${lines[-1]}" = "$footer" ] || fail "expected the footer '$footer' as the last line"
  screen_has "$title" "the title of stage $n/$total"
  if [ "$n" != "$first_stage" ]; then
    # The screen is cleared: the page starts with its stage, no header or other stage above it.
    [[ ${lines[0]} == "$title"* ]] || fail "expected page $n to start with '$title'"
    screen_lacks "attn-trace · " "no header after page 1"
    screen_lacks "attn-trace | " "no header after page 1"
    local line titles=0
    for line in "${lines[@]}"; do
      [[ $line =~ ^(━━|==)\ [0-9]+/ ]] && titles=$((titles + 1))
    done
    [ "$titles" -eq 1 ] || fail "expected one stage on page $n, found $titles stage titles"
  fi
  [ ! -e "$tmp/$session/status" ] || fail "expected the program to wait on page $n; it ended"
}

keys() { tm send-keys -t "$session" "$@"; }

# expect_exit STATUS: the program ends with STATUS and gives the terminal back as it found it.
expect_exit() {
  local dir=$tmp/$session deadline=$((SECONDS + timeout_s))
  until [ -e "$dir/status" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      capture
      fail "expected the program to end (status $1) within ${timeout_s}s"
    fi
    sleep 0.05
  done
  capture
  local status
  status=$(cat "$dir/status")
  [ "$status" = "$1" ] || fail "expected exit status $1, got $status"
  cmp -s "$dir/stty.before" "$dir/stty.after" ||
    fail "expected the terminal's settings restored: before $(cat "$dir/stty.before"), after" \
      "$(cat "$dir/stty.after")"
  local setting settings
  read -r -d '' settings <"$dir/stty.after.long"
  for setting in icanon echo isig; do
    [[ " $settings " =~ [[:space:]]${setting}[[:space:]] ]] ||
      fail "expected '$setting' on after the program: $settings"
  done
  tm kill-session -t "$session"
  session=""
}

header="attn-trace · I am good"

# --- On a terminal -------------------------------------------------------------------------------

# Every key, through every page of the default example.
start walk '"$bin" run --step'
expect_page 1 8 input
[ "${lines[0]}" = "$header" ] || fail "expected page 1 to start with the header '$header'"
keys b; keys n                      # b on page 1 does nothing: n then goes to page 2
expect_page 2 8 projections
keys b
expect_page 1 8 input
screen_has "$header" "the header back on page 1"
keys Space
expect_page 2 8 projections
keys n
expect_page 3 8 scores
screen_has "  shade" "the shading legend (a terminal, --color auto)"
keys Right
expect_page 4 8 scaling
keys Left
expect_page 3 8 scores
keys p
expect_page 2 8 projections
keys x; keys Up; keys Enter         # x and ↑ do nothing
expect_page 3 8 scores
ids=(- input projections scores scaling softmax weighted_values summation out_proj)
for n in 4 5 6 7; do
  keys Enter
  expect_page "$n" 8 "${ids[n]}"
  screen_lacks "━━ summary" "no summary before the last page"
done
keys Enter
expect_page 8 8 out_proj " · " end
screen_has "━━ summary" "the summary on the last page"
screen_has "good → good 0.37" "the summary's last line"
keys Enter
expect_exit 0

# q on a middle page; a lone Esc before it does nothing and does not swallow it.
start quit '"$bin" run --step'
expect_page 1 8 input
keys n; keys n
expect_page 3 8 scores
keys Escape; sleep 0.2; keys q
expect_exit 0

# A held Enter: thirty at once end the walkthrough; none is left over for the shell.
start held '"$bin" run --step'
expect_page 1 8 input
keys Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter \
  Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter Enter
expect_exit 0
[ "$(cat "$tmp/held/leftover")" = no ] || fail "expected no key left for the shell after the end"

# A narrow window (40×10), where lines and the footer wrap: every line of the first page shows
# on one screenful or the next, none lost to the wrapping.
history=""
start narrow '"$bin" run --step --color never' 40 10
seen="" previous=""
expect_screen "stage 1/8" "the first screenful in the narrow window"
for _ in $(seq 1 20); do
  # Wait for the screen to change after the key: each screenful has its own "lines a–b".
  deadline=$((SECONDS + timeout_s))
  until joined=$(tm capture-pane -p -J -t "$session") && [ "$joined" != "$previous" ] &&
    [[ $joined == *"q quit"* ]]; do
    [ "$SECONDS" -ge "$deadline" ] && { screen=$joined; fail "expected the next screenful"; }
    sleep 0.05
  done
  previous=$joined
  seen+=$joined$'\n'
  [[ $joined == *"stage 2/8"* ]] && break
  keys Enter
done
[[ $seen == *"stage 2/8"* ]] || fail "expected page 2 after the screenfuls of page 1"
while IFS= read -r want; do
  [ -z "$want" ] && continue
  [[ $seen == *"$want"* ]] || fail "expected every line of page 1 on some screenful: missing '$want'"
done < <("$bin" run --until input --color never)
keys q
expect_exit 0

# A page taller than the screen (80×24): a screenful at a time, then the next stage.
start tall '"$bin" run --step' 80 24
expect_screen "stage 1/8 · lines 1–22 of " "the first screenful of page 1"
screen_lines
[ "${lines[0]}" = "$header" ] || fail "expected the header at the top of the first screenful"
[[ ${lines[-1]} == *" · Enter more · b back · q quit" ]] || fail "expected 'Enter more' in the footer"
keys Enter
expect_screen "stage 1/8 · lines 23–" "the rest of page 1"
screen_lines
[[ ${lines[-1]} == *" · Enter next · b back · q quit" ]] || fail "expected 'Enter next' after the rest"
screen_lacks "$header" "the header scrolled away"
keys Enter
expect_screen "stage 2/8 · " "page 2 after the two screenfuls of page 1"
keys b
expect_screen "stage 1/8 · lines 1–22 of " "b back to the top of page 1"
# The window grows (a projector's window maximised): the page is drawn again, whole, at once.
tm resize-window -t "$session" -x 100 -y 40
expect_page 1 8 input
keys q
expect_exit 0

# Ctrl-C quits through the same door: status 0, the terminal restored.
start ctrl_c '"$bin" run --step'
expect_page 1 8 input
keys n
expect_page 2 8 projections
keys C-c
expect_exit 0

# Ctrl-D on the first page.
start ctrl_d '"$bin" run --step'
expect_page 1 8 input
keys C-d
expect_exit 0

# --ascii: the footer and titles in ASCII.
start ascii '"$bin" run --ascii --step'
expect_page 1 8 input " | "
[ "${lines[0]}" = "attn-trace | I am good" ] || fail "expected the ASCII header first"
keys n
expect_page 2 8 projections " | "
screen_lacks "·" "no Unicode with --ascii"
keys q
expect_exit 0

# --stages: the pages are numbered as the stages are (3/8, 5/8), the last has no summary.
first_stage=3
start stages '"$bin" run --stages scores,softmax --step'
expect_page 3 8 scores
[ "${lines[0]}" = "$header" ] || fail "expected the header on the first page of --stages"
keys Enter
expect_page 5 8 softmax " · " end
screen_lacks "━━ summary" "no summary with --stages"
keys b
expect_page 3 8 scores
keys Right; keys Enter
expect_exit 0

# Two heads, eleven stages.
first_stage=1
start multihead '"$bin" run multihead --step'
expect_page 1 11 input
keys Left; keys Right
expect_page 2 11 projections
keys n; keys n; keys n; keys n
expect_page 6 11 masking
keys q
expect_exit 0

# On a terminal, but stdout a pipe or stdin not the terminal: ignored, the whole walkthrough.
note="attn-trace: note: --step ignored: standard input and output must both be a terminal; printing the whole walkthrough"
history=yes
n=0
for how in '"$bin" run --step | cat' '"$bin" run --step </dev/null'; do
  start ignored$((n += 1)) "$how"
  expect_screen "━━ summary" "the whole walkthrough ($how)"
  expect_exit 0
  screen_has "$note" "the note ($how)"
  screen_lacks "Enter next" "no footer ($how)"
done

# --- Off a terminal: no tmux ---------------------------------------------------------------------
screen=""

# check_ignored REASON EXPECTED-OUTPUT-FILE COMMAND-LINE: the note on stderr, once, with REASON,
# the whole output on stdout, status 0.
check_ignored() {
  local reason=$1 expected=$2 command=$3 status
  (cd "$tmp" && NO_COLOR='' bash -o pipefail -c "$command" >"$tmp/out" 2>"$tmp/err")
  status=$?
  [ "$status" -eq 0 ] || fail "'$command': expected status 0, got $status; stderr: $(cat "$tmp/err")"
  local want="attn-trace: note: --step ignored: $reason; printing the whole walkthrough"
  if [ "$(wc -l <"$tmp/err")" -ne 1 ] || [ "$(cat "$tmp/err")" != "$want" ]; then
    fail "'$command': expected one line on stderr: $want"$'\n'"got:"$'\n'"$(cat "$tmp/err")"
  fi
  cmp -s "$expected" "$tmp/out" ||
    fail "'$command': expected the whole output ($expected); diff:"$'\n'"$(diff "$expected" "$tmp/out" | head -20)"
}
export bin
"$bin" run --color never >"$tmp/whole.txt" || fail "attn-trace run failed"
"$bin" run --format json >"$tmp/whole.json" || fail "attn-trace run --format json failed"
terminal="standard input and output must both be a terminal"
check_ignored "$terminal" "$tmp/whole.txt" '"$bin" run --step </dev/null'
check_ignored "$terminal" "$tmp/whole.txt" '"$bin" run --step </dev/null | cat'
check_ignored "it shows the text walkthrough, not --format json" "$tmp/whole.json" \
  '"$bin" run --step --format json </dev/null'
check_ignored "the walkthrough goes to a file (-o)" /dev/null \
  '"$bin" run --step -o walk.txt </dev/null'
cmp -s "$tmp/whole.txt" "$tmp/walk.txt" || fail "-o walk.txt: expected the whole walkthrough in it"

echo "step.sh: all checks passed"
