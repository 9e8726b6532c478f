#!/usr/bin/env bash
# run --ascii: the whole walkthrough of every bundled example is plain ASCII within 80 columns,
# and a masked table keeps its columns aligned once −∞ has become -inf.
#   ascii.sh BINARY
set -u
binary=$1
status=0
examples=$("$binary" examples | awk 'NF && !/^attn-trace/ { print $1 }')
[ -n "$examples" ] || { echo "FAIL: '$binary examples' listed no example to check"; exit 1; }
for example in $examples; do
  out=$("$binary" run "$example" --ascii --full) || { echo "FAIL: $example: exit $?"; status=1; continue; }
  if LC_ALL=C grep -n '[^[:print:][:space:]]' <<<"$out" | head -3 | grep -q .; then
    echo "FAIL: $example: a byte that is not printable ASCII:"
    LC_ALL=C grep -n '[^[:print:][:space:]]' <<<"$out" | head -3
    status=1
  fi
  long=$(awk 'length > 80' <<<"$out" | head -3)
  [ -z "$long" ] || { echo "FAIL: $example: lines over 80 columns:"; echo "$long"; status=1; }
done
# Columns of a masked table: every row of the additive mask as wide as its header.
table=$("$binary" run multihead --ascii --stages masking | awk '/^additive_mask/ { on = 1; next } on && /^  head 1/ { exit } on && NF && !/^  head/')
# The header row and one row per query token (multihead has 4): a table not found must not pass.
rows=$(grep -c . <<<"$table")
if [ "$rows" -lt 5 ]; then
  echo "FAIL: expected the additive mask's header and 4 rows under 'additive_mask', found $rows line(s):"
  echo "$table"
  status=1
fi
widths=$(awk '{ print length }' <<<"$table" | sort -u | wc -l)
[ "$widths" = 1 ] || { echo "FAIL: the additive mask's rows differ in width:"; echo "$table"; status=1; }
[ $status = 0 ] && echo "ok: every example's walkthrough is ASCII within 80 columns"
exit $status
