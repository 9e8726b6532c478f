#!/usr/bin/env bash
# Installs, from Debian's packages, whatever attn-trace needs to build and test and is not yet on
# this machine. Does nothing (and needs no network) when everything is there already.
# Works as root on a fresh Debian 12; otherwise uses sudo when it is available.
#   tools/install-deps.sh [--tests] [EXTRA-PACKAGE...]   (tools/fuzz.sh adds clang and libFuzzer)
# --tests: also what the tests of the teaching formats need (below); tools/test.sh passes it.
set -euo pipefail

want_tests=0
extra=()
for arg in "$@"; do
  if [ "$arg" = --tests ]; then want_tests=1; else extra+=("$arg"); fi
done

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
  "${extra[@]}"                    # what the caller needs besides
)
# The teaching formats' tests read the output back with real readers (tests/markdown, tests/latex,
# tests/browser): cmark-gfm, pdflatex and pdftotext, and Debian's Chromium driven by puppeteer-core
# from the npm registry (tests/browser/package-lock.json; npm ci there, below). `--tests` asks for
# them; the walkthrough alone (tools/demo.sh) needs none.
if [ "$want_tests" = 1 ]; then
  packages+=(
    cmark-gfm                                  # tests/markdown: the Markdown as GitHub reads it
    texlive-latex-base texlive-latex-recommended lmodern  # tests/latex: pdflatex, Latin Modern (T1)
    texlive-pictures                           # tests/latex: pgf, which beamer needs
    poppler-utils                              # tests/latex: pdftotext reads the PDF back
    chromium fonts-dejavu-core                 # tests/browser: the HTML page in a real browser
  )
  # node and npm: Debian's, unless the machine has its own (NodeSource's nodejs bundles npm and
  # conflicts with Debian's npm package).
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done

# puppeteer-core, at the version the lock file pins, into tests/browser/node_modules (npm ci);
# again only when the lock file changed since.
npm_install() {
  [ "$want_tests" = 1 ] || return 0
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  [ -f "$dir/package-lock.json" ] || { echo "attn-trace: no $dir/package-lock.json" >&2; exit 1; }
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "attn-trace: npm ci in $dir (puppeteer-core for the browser tests)" >&2
    # node trusts only its own list of CAs; the system's store also holds a TLS-inspecting
    # proxy's, where the machine is behind one.
    local ca=/etc/ssl/certs/ca-certificates.crt
    NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-$([ -f $ca ] && echo $ca)} \
      npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  npm_install
  exit 0
fi

echo "attn-trace: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "attn-trace: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
npm_install
