#!/usr/bin/env bash
# Links ferry-sync's wasm once more with function names (--profiling-funcs),
# from the objects of the wasm-release build (web/build.sh makes them), and
# lists what each function and each group of functions costs
# (function_sizes.mjs). The shipped build is not touched.
#   web/size/function_sizes.sh [TOP]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build/wasm-release
[[ -f $build/build.ninja ]] || { echo "no $build: run web/build.sh first" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The build's own link command for the browser glue, with names kept and
# the output elsewhere.
link=$(cd $build && ninja -t commands bindings/js/ferry_wasm.mjs | tail -n 1)
link=${link#: && }
link=${link% && :}
link=${link/ -o bindings\/js\/ferry_wasm.mjs / --profiling-funcs -o $out/ferry_wasm.mjs }
(cd $build && NODE_PATH=/usr/share/nodejs eval "$link")
node web/size/function_sizes.mjs "$out/ferry_wasm.wasm" "${1:-40}"
