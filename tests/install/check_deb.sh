#!/usr/bin/env bash
# CPack's .deb: built from this build directory, it holds the binary, the man page and the
# completion, names its maintainer, section and description, and depends on every shared library
# the binary links (dpkg-shlibdeps); its binary, unpacked, runs.
#   check_deb.sh BUILD_DIR
set -u
build=$1
out=$(mktemp -d) && trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; fail "cpack -G DEB failed"; }
debs=("$out"/attn-trace_*.deb)
[ -f "${debs[0]}" ] || fail "cpack wrote no attn-trace_*.deb into $out"
deb=${debs[0]}

info=$(dpkg-deb -I "$deb")
for field in "Package: attn-trace" "Section: science" "Maintainer: " "Description: step-tracer" "Depends: "; do
  grep -qF -- "$field" <<<"$info" || { echo "$info"; fail "dpkg-deb -I lacks: $field"; }
done
depends=$(sed -n 's/^ Depends: //p' <<<"$info")
depends_names=$(sed 's/ ([^)]*)//g; s/ | /\n/g; s/, /\n/g' <<<"$depends")  # one package a line
# Every shared library the binary links directly (its NEEDED entries, not what those load in turn)
# must come from a package it depends on.
dpkg-deb -x "$deb" "$out/root"
checked_libraries=""
needed=$(objdump -p "$out/root/usr/bin/attn-trace" | awk '$1 == "NEEDED" {print $2}')
for path in $(ldd "$out/root/usr/bin/attn-trace" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' |
              while read -r name file; do grep -qxF "$name" <<<"$needed" && echo "$file"; done); do
  package=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")" 2>/dev/null)
  package=${package%%:*}
  [ -n "$package" ] || fail "no installed package holds $path"
  grep -qxF "$package" <<<"$depends_names" || fail "Depends lacks $package (for $path): $depends"
  checked_libraries+=" $(basename "$path")"
done
[ -n "$checked_libraries" ] || fail "ldd listed no library of the packaged binary"

contents=$(dpkg-deb -c "$deb")
for file in ./usr/bin/attn-trace ./usr/share/man/man1/attn-trace.1.gz \
            ./usr/share/bash-completion/completions/attn-trace; do
  grep -qE " $file\$" <<<"$contents" || { echo "$contents"; fail "the package lacks $file"; }
done
"$out/root/usr/bin/attn-trace" run --stages softmax | grep -qF "━━ 5/8 · softmax" ||
  fail "the packaged binary does not run"
echo "ok: $(basename "$deb"), Depends: $depends; covers$checked_libraries"
