#!/usr/bin/env bash
# Stages the platform package ferry-sync-linux-x64-gnu (package.json and the
# built ferry.node) and packs it; prints the tarball's path.
#   bindings/node/pack.sh ADDON [OUTPUT_DIR]
# ADDON: a built ferry.node (cmake --build --preset native-release --target
# ferry_node gives build/native-release/bindings/node/ferry.node);
# OUTPUT_DIR: where the .tgz goes (default: this folder).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
addon=${1:?usage: pack.sh path/to/ferry.node [output dir]}
output=$(cd "${2:-$here}" && pwd)
[[ -f $addon ]] || { echo "pack.sh: no addon at $addon" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$here/package.json" "$here/README.md" "$stage/"
cp "$addon" "$stage/ferry.node"
strip --strip-debug "$stage/ferry.node"  # a debug build's symbols would make the package huge
# The package ships its addon, nothing of its build (devDependencies stay out).
(cd "$stage" && npm pack --silent --pack-destination "$output" | tail -n 1 | sed "s|^|$output/|")
