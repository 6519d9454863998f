#!/usr/bin/env bash
# The Python package (bindings/python): builds libferry and ferry-server,
# installs the package into a fresh virtual environment exactly as
# bindings/python/README.md says (Debian's python3, setuptools and pytest; no
# PyPI), and runs its pytest suite against a real ferry-server.
#
#   scripts/test-python.sh                                  (run by scripts/test.sh)
#   FERRY_CMAKE_PRESET=native-debug scripts/test-python.sh  another preset's build
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
preset=${FERRY_CMAKE_PRESET:-native-release}
jobs=${FERRY_JOBS:-$(nproc)}
venv=build/python-venv
# Debian's interpreter: the one python3-setuptools and python3-pytest belong
# to (a python3 earlier on PATH, e.g. pyenv's, does not see them).
python=/usr/bin/python3

say() { printf -- '--> %s\n' "$*"; }

say "building ferry-server ($preset); pip builds libferry itself"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target ferry-server -j "$jobs"

say "installing the package into $venv"
rm -rf "$venv" bindings/python/build
"$python" -m venv --system-site-packages "$venv"
FERRY_CMAKE_PRESET=$preset FERRY_JOBS=$jobs \
  "$venv/bin/pip" install --quiet --no-build-isolation --no-index ./bindings/python

say "pytest against ferry-server"
# From outside the source tree, so the tests import the installed package.
cd bindings/python/tests
FERRY_SERVER_BINARY="$OLDPWD/build/$preset/server/ferry-server" \
  "$OLDPWD/$venv/bin/python" -m pytest -p no:cacheprovider -q
