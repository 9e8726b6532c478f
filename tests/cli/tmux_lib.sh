# Shared by step.sh and color_terminal.sh, which run attn-trace in a real terminal: the binary
# under test as an absolute path, and a private tmux server with a scratch folder, both gone
# however the script ends.
#   source tmux_lib.sh SCRIPT-NAME BINARY WHAT   sets bin, tmp and socket; defines tm
# WHAT says what the script does in the terminal, for the message when tmux is missing.
script_name=$1 bin=${2:-}
[ -n "$bin" ] || { echo "usage: $script_name path/to/attn-trace" >&2; exit 1; }
[ -x "$bin" ] || { echo "$script_name: not an executable: $bin" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

if ! command -v tmux >/dev/null; then
  echo "FAIL: tmux is missing; this test $3 in a real terminal and needs it:" >&2
  echo "      run tools/install-deps.sh (it installs tmux)" >&2
  exit 1
fi

tmp=$(mktemp -d)
socket=attn-trace-test-$$
unset TMUX  # run from inside tmux too: our own server, not the user's
tm() { tmux -L "$socket" -f /dev/null "$@"; }
cleanup() {
  tm kill-server 2>/dev/null
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$socket"  # kill-server leaves the socket file
  rm -rf "$tmp"
}
trap cleanup EXIT

# tmux needs a pseudo-terminal for every window: say so plainly when it cannot get one (a chroot
# or container without /dev/pts) rather than failing later on the first scenario.
if ! probe=$(tm new-session -d -s probe -x 20 -y 5 'sleep 1' 2>&1); then
  echo "FAIL: tmux cannot open a terminal on this machine: $probe" >&2
  echo "      it needs pseudo-terminals: is /dev/pts mounted?" >&2
  exit 1
fi
# One server for the whole script: by default tmux stops its server when the last session ends,
# and a session started while the old server is still going away fails ("server exited
# unexpectedly"), which made these tests flaky on a busy machine.
tm set-option -s exit-empty off
tm kill-session -t probe 2>/dev/null
