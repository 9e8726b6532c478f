#!/usr/bin/env bash
# Installs, from Debian's packages, whatever attn-trace needs to build and test and is not yet on
# this machine. Does nothing (and needs no network) when everything is there already.
# Works as root on a fresh Debian 12; otherwise uses sudo when it is available.
#   tools/install-deps.sh [EXTRA-PACKAGE...]   (tools/fuzz.sh adds clang and libFuzzer)
set -euo pipefail

packages=(
  cmake ninja-build g++            # toolchain
  libcli11-dev libfmt-dev nlohmann-json3-dev libeigen3-dev   # libraries
  libzip-dev pkgconf               # .npz input (NumPy's zip archives), found with pkg-config
  catch2 tmux                      # tests (tmux: --step and --color run in a real terminal)
  python3 python3-jsonschema       # tests: the JSON export read by a second parser and validated
  universal-ctags                  # tests: the size rule of docs/architecture.md (tests/arch)
  python3-torch python3-numpy      # tests: tools/attn_capture.py and docs/your-own-model.md against PyTorch
  # build: python3 (above) writes the man page and the bash completion from --help (tools/cli_docs.py)
  dpkg-dev file                    # the .deb: cpack's dpkg-shlibdeps finds its Depends; CPack needs file
  groff-base                       # tests: the man page renders without warnings (tests/install)
  "$@"                             # what the caller needs besides
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "attn-trace: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "attn-trace: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
