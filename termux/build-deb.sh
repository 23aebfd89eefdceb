#!/bin/sh
# Standalone Termux .deb, no termux-packages checkout needed: the same tree, launcher, postinst and
# prerm as termux/build.sh, packed by `dpkg-deb --build` (Architecture: all) into dist/.
#   termux/build-deb.sh [OUT_DIR]          PYTHON=... picks the interpreter that runs the build
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
exec "${PYTHON:-python3}" "$here/packaging/pkgbuild.py" deb --out "${1:-$here/dist}"
