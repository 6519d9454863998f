#!/usr/bin/env bash
# Builds ferry-sync, packs it, installs the tarball into a fresh project and
# runs the Node tests there against a real ferry-server (FERRY_SERVER_BINARY),
# among them apps.test.mjs: the bundler apps of test/apps, each installed from
# npm with the same tarball.
set -euo pipefail
cd "$(dirname "$0")"
./build.sh
tarball="$PWD/$(npm pack --silent | tail -n 1)"
project=$(mktemp -d)
trap 'rm -rf "$project" "$tarball"' EXIT
cp test/*.mjs "$project/"
cp -r test/types "$project/"  # the type test (types.test.mjs), with the package's TypeScript and Node types
type_packages=$(node -p 'const d = require("./package.json").devDependencies; `typescript@${d.typescript} @types/node@${d["@types/node"]}`')
# playwright-core drives Debian's chromium; it never downloads a browser.
(cd "$project" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund "$tarball" playwright-core@1.65.1 $type_packages >/dev/null)
# Each app's bundler comes from its package-lock.json (exact versions), all
# from the one npm cache; the apps install side by side.
cp -r test/apps "$project/apps"
rm -rf "$project"/apps/*/{node_modules,dist}
installs=()
for app in "$project"/apps/*/; do
  (cd "$app" && npm install --no-audit --no-fund --prefer-offline "$tarball" >npm.log 2>&1 || { cat npm.log >&2; exit 1; }) &
  installs+=($!)
done
for install in "${installs[@]}"; do wait "$install" || { echo "npm install of a bundler app failed" >&2; exit 1; }; done
# The demo test serves web/examples/notes and leaves a screenshot in build/test-output.
export FERRY_DEMO_DIR="$PWD/examples/notes" FERRY_TEST_OUTPUT="$(cd .. && pwd)/build/test-output"
export FERRY_README="$(cd .. && pwd)/README.md"  # apps.test.mjs builds the README's todo app from its text
# No test may hang the run: each gets 10 minutes (the longest takes under 10 s).
(cd "$project" && node --test --test-concurrency=1 --test-timeout=600000 ./*.test.mjs)
