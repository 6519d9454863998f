#!/usr/bin/env bash
# The Node addon against the wasm build, in one run: packs ferry-sync and
# its platform package ferry-sync-linux-x64-gnu (like web/test.sh), installs
# both into a fresh project and runs bench/node_bench.mjs once per
# implementation, each against a fresh ferry-server. Prints JSON lines.
#   FERRY_SERVER_BINARY=... FERRY_NODE_ADDON=... bench/node_bench.sh [N]
# Defaults: the native-release build's ferry-server and ferry.node; N 20,000.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20000}
export FERRY_SERVER_BINARY=${FERRY_SERVER_BINARY:-$root/build/native-release/server/ferry-server}
addon=${FERRY_NODE_ADDON:-$root/build/native-release/bindings/node/ferry.node}
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
(cd "$root/web" && ./build.sh >&2 && npm pack --silent --pack-destination "$project" >/dev/null)
"$root/bindings/node/pack.sh" "$addon" "$project" >/dev/null
cp "$root/web/test/helpers.mjs" "$root/bench/node_bench.mjs" "$project/"
(cd "$project" && npm init -y >/dev/null && npm install --no-audit --no-fund ./*.tgz >/dev/null 2>&1)
for implementation in native wasm; do
  (cd "$project" && FERRY_SYNC_IMPLEMENTATION=$implementation node node_bench.mjs "$n")
done
