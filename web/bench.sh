#!/usr/bin/env bash
# Runs the browser benchmarks of ferry-sync (bench/browser_bench.mjs, or the
# script of bench/ named as the argument: query_bench.mjs) from a fresh
# project with the packed package, like the tests. FERRY_SERVER_BINARY
# names ferry-server (it serves the page). Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")"
script=${1:-browser_bench.mjs}
./build.sh >&2
tarball=$(npm pack --silent | tail -n 1)
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
cp test/helpers.mjs "bench/$script" "$project/"
(cd "$project" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund "$OLDPWD/$tarball" playwright-core@1.65.1 >/dev/null 2>&1)
rm -f "$tarball"
(cd "$project" && node "$script")
