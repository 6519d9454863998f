#!/usr/bin/env bash
# Builds ferry-sync, packs it and the platform package of its Node addon
# (ferry-sync-linux-x64-gnu, from FERRY_NODE_ADDON, default the native-release
# build's ferry.node), installs both tarballs into a fresh project and runs
# the tests there against a real ferry-server (FERRY_SERVER_BINARY): the Node
# suite twice, FERRY_SYNC_IMPLEMENTATION=wasm and =native, with the same
# results; then the addon's own tests and the browser and bundler tests
# (apps.test.mjs: the apps of test/apps, each installed from npm with the
# same tarball).
set -euo pipefail
cd "$(dirname "$0")"
./build.sh
addon=${FERRY_NODE_ADDON:-$(cd .. && pwd)/build/native-release/bindings/node/ferry.node}
tarball="$PWD/$(npm pack --silent | tail -n 1)"
addon_tarball=$(../bindings/node/pack.sh "$addon" "$PWD")
project=$(mktemp -d)
trap 'rm -rf "$project" "$tarball" "$addon_tarball"' EXIT
cp test/*.mjs "$project/"
cp -r test/types "$project/"  # the type test (types.test.mjs), with the package's TypeScript and Node types
type_packages=$(node -p 'const d = require("./package.json").devDependencies; `typescript@${d.typescript} @types/node@${d["@types/node"]}`')
# playwright-core drives Debian's chromium; it never downloads a browser.
(cd "$project" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund "$tarball" "$addon_tarball" playwright-core@1.65.1 $type_packages >/dev/null)
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
(cd examples/notes && npm ci --no-audit --no-fund --prefer-offline >/dev/null)  # React and esbuild for its build.sh
export FERRY_README="$(cd .. && pwd)/README.md"  # apps.test.mjs builds the README's todo app from its text
# No test may hang the run: each gets 10 minutes (the longest takes under 10 s).
run_tests() { (cd "$project" && node --test --test-concurrency=1 --test-timeout=600000 "$@"); }
# The tests that run in Node (not Chromium), once per implementation. Where
# the two differ (the files a store keeps), the tests say so.
node_suite=(sync.test.mjs node_process.test.mjs store_lock.test.mjs queue_control.test.mjs open_conflicts.test.mjs open_options.test.mjs scope.test.mjs hooks.test.mjs query.test.mjs live_query.test.mjs)
for implementation in wasm native; do
  echo "==> the Node suite with FERRY_SYNC_IMPLEMENTATION=$implementation"
  FERRY_SYNC_IMPLEMENTATION=$implementation run_tests "${node_suite[@]/#/./}"
done
echo "==> the addon's own tests, the browser and bundler tests"
others=()
for file in "$project"/*.test.mjs; do
  [[ " ${node_suite[*]} " == *" $(basename "$file") "* ]] || others+=("./$(basename "$file")")
done
run_tests "${others[@]}"
