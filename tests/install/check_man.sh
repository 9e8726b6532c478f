#!/usr/bin/env bash
# The man page attn-trace(1): groff renders it with no warning, and it names every subcommand and
# every flag the binary's --help lists (read here from the binary, not from the generator).
#   check_man.sh BINARY PAGE
set -u
binary=$1 page=$2
fail() { echo "FAIL: $*"; exit 1; }
[ -s "$page" ] || fail "no man page at $page"

warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
[ -z "$warnings" ] || fail "groff warns: $warnings"
if command -v man >/dev/null; then
  warnings=$(MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "man -l warns: $warnings"
fi
text=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)

subcommands=$("$binary" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NF && !/:$/ {print $1}')
[ "$(wc -w <<<"$subcommands")" -ge 4 ] || fail "found only these subcommands in --help: $subcommands"
checked=0
for sub in "" $subcommands; do
  grep -qF -- "attn-trace $sub" <<<"$text" || fail "the page lacks the subcommand: $sub"
  # Every --flag and -x at the start of --help's option column.
  flags=$("$binary" $sub --help | grep -oE '^  -[^ ]+' | tr ',' '\n' | sed 's/^ *//')
  [ -n "$flags" ] || fail "attn-trace $sub --help lists no flags"
  for flag in $flags; do
    grep -qE -- "(^|[ ,])$flag([ ,]|$)" <<<"$text" || fail "the page lacks $flag (of attn-trace $sub)"
    checked=$((checked + 1))
  done
done
grep -q "EXIT STATUS" <<<"$text" || fail "the page has no EXIT STATUS section"
echo "ok: renders without warnings; names every subcommand ($(echo $subcommands)) and $checked flags"
