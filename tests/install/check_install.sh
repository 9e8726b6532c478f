#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: the binary, the man page and the bash completion land
# where a shell and man look for them, and the installed binary works from any directory with the
# source tree out of sight (hidden under an empty tmpfs where the machine allows a mount namespace).
#   check_install.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 source=$2
prefix=$(mktemp -d) && trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$prefix/install.log" 2>&1 ||
  { cat "$prefix/install.log"; fail "cmake --install failed"; }
for file in bin/attn-trace share/man/man1/attn-trace.1.gz share/bash-completion/completions/attn-trace; do
  [ -s "$prefix/$file" ] || fail "not installed: $file"
done
[ -x "$prefix/bin/attn-trace" ] || fail "bin/attn-trace is not executable"
gzip -t "$prefix/share/man/man1/attn-trace.1.gz" || fail "the installed man page is no gzip file"

# The subcommands that read bundled data, each with the output that shows the data was there.
checks=(
  "run|━━ 8/8 · out_proj · Output projection"
  "run karim --stages softmax|Karim"
  "examples --show multihead|\"num_heads\": 2"
  "explain Q[am,1]|✓ the trace holds the same number"
)
script="cd / || exit 1; status=0"
for check in "${checks[@]}"; do
  args=${check%%|*} expected=${check#*|}
  script+="; out=\$('$prefix/bin/attn-trace' $args 2>&1) || { echo \"FAIL: attn-trace $args: exit \$?\"; echo \"\$out\"; status=1; }"
  script+="; grep -qF -- '$expected' <<<\"\$out\" || { echo 'FAIL: attn-trace $args lacks: $expected'; status=1; }"
done
script+="; exit \$status"

if unshare -rm true 2>/dev/null; then
  # A private mount namespace where the source tree (and the build inside it) is an empty tmpfs.
  unshare -rm bash -c "mount -t tmpfs none '$source' && [ -z \"\$(ls -A '$source')\" ] || exit 3; $script"
  status=$?
  [ $status -ne 3 ] || fail "could not hide the source tree"
  how="with $source hidden"
else
  env -i PATH=/usr/bin:/bin bash -c "$script"
  status=$?
  how="from / (this machine allows no mount namespace, so the source tree stayed visible)"
fi
[ $status -eq 0 ] || fail "the installed binary failed $how"
echo "ok: installed into a temporary prefix; the installed binary ran ${#checks[@]} commands $how"
