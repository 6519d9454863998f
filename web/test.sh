#!/usr/bin/env bash
# Builds ferry-sync, packs it, installs the tarball into a fresh project and
# runs the Node tests there against a real ferry-server (FERRY_SERVER_BINARY).
set -euo pipefail
cd "$(dirname "$0")"
./build.sh
tarball=$(npm pack --silent | tail -n 1)
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
cp test/*.mjs "$project/"
cp -r test/types "$project/"  # the type test (types.test.mjs), with the package's TypeScript and Node types
type_packages=$(node -p 'const d = require("./package.json").devDependencies; `typescript@${d.typescript} @types/node@${d["@types/node"]}`')
# playwright-core drives Debian's chromium; it never downloads a browser.
(cd "$project" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund "$OLDPWD/$tarball" playwright-core@1.65.1 $type_packages >/dev/null)
rm -f "$tarball"
# The demo test serves web/examples/notes and leaves a screenshot in build/test-output.
export FERRY_DEMO_DIR="$PWD/examples/notes" FERRY_TEST_OUTPUT="$(cd .. && pwd)/build/test-output"
(cd "$project" && node --test --test-concurrency=1 ./*.test.mjs)
