#!/usr/bin/env bash
# Regenerates the README's screenshots, docs/images/*.png: real captures of the coloured
# walkthrough, not mock-ups. Each command runs in a private tmux server (a 100-column window,
# TERM=xterm-256color, COLORTERM=truecolor, so 24-bit colour); once its output is complete the pane
# is captured with its escapes, turned into HTML by aha (DejaVu Sans Mono on a dark background),
# photographed by headless Chromium at the size of the text, and shrunk losslessly by optipng.
# Installs tmux, aha, chromium, fonts-dejavu-core and optipng (tools/install-deps.sh) when one is
# missing; builds build/attn-trace first unless ATTN_TRACE_BIN names the binary to use.
#   tools/screenshots.sh                 writes docs/images/{focus,step}.png
#   ATTN_TRACE_BIN=path/to/attn-trace tools/screenshots.sh
# The same binary and the same Chromium give the same PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."

out_dir=docs/images
cols=100          # the tmux window's width; the walkthrough is at most 80 columns wide
font_px=15        # the text's size in the HTML page
line_px=19        # its line height (integer, so that the page height is exact)
pad_x=18 pad_y=14 # the dark margin around the text
scale=1           # Chromium's device scale factor; 2 is sharper and about 2.4 times the bytes
# DejaVu Sans Mono's advance is 1233/2048 of the font size: a column is font_px × 0.60205 px wide.
char_em=0.60205

die() { echo "screenshots: $*" >&2; exit 1; }

# ---- tools: install what is missing, then insist
tool_package=(tmux:tmux aha:aha chromium:chromium optipng:optipng fc-list:fontconfig)
have_font() { fc-list ':family=DejaVu Sans Mono' 2>/dev/null | grep -q .; }
missing_packages() {
  local pair
  missing=()
  for pair in "${tool_package[@]}"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  have_font || missing+=(fonts-dejavu-core)
}
missing_packages
if [ ${#missing[@]} -gt 0 ]; then
  tools/install-deps.sh "${missing[@]}" || die "could not install: ${missing[*]}"
  missing_packages
  [ ${#missing[@]} -eq 0 ] || die "still missing after tools/install-deps.sh: ${missing[*]}"
fi

# ---- a private tmux server and a scratch directory, both gone however this ends
socket=attn-trace-shots-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/attn-trace-shots.XXXXXX")
tmux_() { tmux -u -L "$socket" -f /dev/null "$@"; }
socket_path=${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$socket  # exactly: #{socket_path}, below
cleanup() {
  tmux_ kill-server >/dev/null 2>&1 || true
  rm -f "$socket_path"  # tmux leaves its socket behind
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- the binary
if [ -n "${ATTN_TRACE_BIN:-}" ]; then
  bin=$(realpath "$ATTN_TRACE_BIN" 2>/dev/null || true)
  if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
    die "ATTN_TRACE_BIN=$ATTN_TRACE_BIN is not an executable file"
  fi
else
  # Only the attn-trace target: the screenshots need no tests. Quiet unless it fails.
  if ! { { [ -f build/CMakeCache.txt ] ||
           cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo; } &&
         cmake --build build --target attn-trace; } >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    die "the build failed (log above)"
  fi
  bin=$PWD/build/attn-trace
fi

# A session that keeps the server up; every shot gets a session of its own. A finished command's
# pane stays (remain-on-exit) without tmux's "Pane is dead" line, and there is no status line.
tmux_ new-session -d -s keep -x "$cols" -y 10 'exec sleep 86400' \; \
  set -g remain-on-exit on \; set -g remain-on-exit-format '' \; set -g status off \; \
  set -g history-limit 0
socket_path=$(tmux_ display -p '#{socket_path}')
export LC_ALL=C.UTF-8  # wc -L counts columns, tmux reads and writes UTF-8

# start_shot NAME ROWS ARG...: runs attn-trace ARG... in a fresh COLS × ROWS pane, through a
# shell that writes its exit status to $tmp/NAME.status.
start_shot() {
  local name=$1 rows=$2
  shift 2
  tmux_ new-session -d -s "$name" -x "$cols" -y "$rows" 'exec sleep 86400'
  # shellcheck disable=SC2016  # $1, $@ and $? are the inner shell's
  tmux_ respawn-pane -k -t "$name" /bin/sh -c 'status=$1; shift; "$@"; echo $? >"$status"' sh \
    "$tmp/$name.status" env -u NO_COLOR TERM=xterm-256color COLORTERM=truecolor LC_ALL=C.UTF-8 \
    "$bin" "$@"
}

# show_pane NAME: the pane's text, without its blank rows at the bottom, on standard error.
show_pane() {
  echo "--- the pane of $1:" >&2
  tmux_ capture-pane -p -t "$1" | awk 'NF { while (blank) { print ""; blank-- } print; next }
                                         { blank++ }' >&2 || true
  echo "---" >&2
}

# wait_until NAME WHAT CHECK...: polls (every 0.1 s, at most 20 s) until CHECK... succeeds.
wait_until() {
  local name=$1 what=$2 tries=0
  shift 2
  until "$@"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 200 ]; then
      show_pane "$name"
      die "$name: timed out waiting for $what"
    fi
    sleep 0.1
  done
}
# attn-trace has ended and tmux has read all its output (the pane is dead). Its exit status comes
# from the status file: tmux 3.3 sometimes leaves #{pane_dead_status} empty.
finished() {
  [ -s "$tmp/$1.status" ] && [ "$(tmux_ display -p -t "$1" '#{pane_dead}')" = 1 ]
}
# The pane shows TEXT, or attn-trace has ended (which step_shot then reports).
shows_or_ended() { tmux_ capture-pane -p -t "$1" | grep -qF -- "$2" || finished "$1"; }
check_exit() {
  local status
  status=$(cat "$tmp/$1.status")
  [ "$status" = 0 ] || {
    show_pane "$1"
    die "$1: attn-trace failed (exit status $status; its pane above)"
  }
}

# render NAME: the pane as it is now → $tmp/NAME.png, cut to the text; moved to docs/images/ once
# every shot has worked.
render() {
  local name=$1 plain=$tmp/$1.txt colored=$tmp/$1.ans html=$tmp/$1.html png=$tmp/$1.png
  tmux_ capture-pane -p -t "$name" >"$plain"
  tmux_ capture-pane -p -e -t "$name" >"$colored"
  # The text: from the first line that is not blank to the last (a --step page after the first
  # starts with an empty line).
  local first last lines rows width_cols width height
  read -r first last < <(awk 'NF { if (!first) first = NR; last = NR }
                              END { print first + 0, last + 0 }' "$plain")
  rows=$(tmux_ display -p -t "$name" '#{pane_height}')
  [ "$last" -gt 0 ] || die "$name: the pane is empty"
  [ "$last" -lt "$rows" ] || die "$name: the output fills all $rows rows; give it more"
  lines=$((last - first + 1))
  width_cols=$(sed -n "${first},${last}p" "$plain" | wc -L)
  width=$(awk -v c="$width_cols" -v f="$font_px" -v e="$char_em" -v p="$pad_x" \
    'BEGIN { w = c * f * e; printf "%d", (w == int(w) ? w : int(w) + 1) + 2 * p }')
  height=$((lines * line_px + 2 * pad_y))
  {
    cat <<EOF
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>attn-trace: $name</title>
<style>
html, body { margin: 0; background: #101010; }
pre { margin: 0; padding: ${pad_y}px ${pad_x}px; color: #e8e8e8;
      font: ${font_px}px/${line_px}px "DejaVu Sans Mono", monospace; }
</style></head><body><pre>
EOF
    # aha writes black (SGR 30) as dimgray: on the heatmap's light cells black reads better.
    sed -n "${first},${last}p" "$colored" | aha --black --no-header |
      sed 's/\([";]\)color:dimgray;/\1color:black;/g'
    echo '</pre></body></html>'
  } >"$html"
  # Chromium's own messages (D-Bus, GPU) go to a log, shown only when it fails.
  if ! chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
      --user-data-dir="$tmp/chromium-profile" --force-device-scale-factor="$scale" \
      --window-size="$width,$height" --screenshot="$png" "file://$html" \
      >"$tmp/chromium.log" 2>&1 || [ ! -s "$png" ]; then
    cat "$tmp/chromium.log" >&2
    die "$name: chromium wrote no screenshot (its log above)"
  fi
  optipng -quiet -o2 -strip all "$png"
  shots+=("$name")
  written+=("$out_dir/$name.png  ($((width * scale))×$((height * scale)) px,\
 $(($(stat -c %s "$png") / 1024)) KiB: $lines lines of $width_cols columns)")
}
shots=() written=()

# shot NAME ROWS ARG...: the whole output of attn-trace ARG...
shot() {
  local name=$1
  start_shot "$@"
  wait_until "$name" "attn-trace to finish" finished "$name"
  check_exit "$name"
  render "$name"
}

# step_shot NAME ROWS PAGES ARG...: attn-trace ARG... --step, on its page PAGES (the first is 1)
# after pressing Enter PAGES - 1 times; then q.
step_shot() {
  local name=$1 rows=$2 pages=$3 page
  shift 3
  start_shot "$name" "$rows" "$@" --step
  for ((page = 1; page <= pages; page++)); do
    [ "$page" = 1 ] || tmux_ send-keys -t "$name" Enter
    wait_until "$name" "page $page" shows_or_ended "$name" "stage $page/"
    if finished "$name"; then
      check_exit "$name"
      show_pane "$name"
      die "$name: attn-trace ended before its page $page"
    fi
  done
  render "$name"
  tmux_ send-keys -t "$name" q
  wait_until "$name" "attn-trace to quit" finished "$name"
  check_exit "$name"
}

# One head and one query, from the mask to the weights.
shot focus 70 run multihead --color always --focus head=1,query=sat --stages masking,softmax
# The pager at the softmax page of the two-head example; auto colour (a terminal).
step_shot step 60 7 run multihead

mkdir -p "$out_dir"
for name in "${shots[@]}"; do
  mv "$tmp/$name.png" "$out_dir/$name.png"
done
printf '%s\n' "${written[@]}"
