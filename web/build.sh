#!/usr/bin/env bash
# Builds the npm package ferry-sync into web/dist: the wasm module (CMake
# preset wasm-release: targets ferry_wasm, the browser glue, and
# ferry_wasm_node, the Node glue; one .wasm) and the TypeScript wrapper.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
export NODE_PATH=/usr/share/nodejs  # emcc's JS optimizer needs acorn
# The devDependencies first: TypeScript, and Closure for the wasm's JS glue
# (bindings/js/CMakeLists.txt finds it in node_modules when it configures).
if [[ ! -d node_modules/typescript || ! -d node_modules/google-closure-compiler ]]; then
  npm ci --no-audit --no-fund >/dev/null
fi
(cd "$root" && cmake --preset wasm-release >/dev/null && cmake --build --preset wasm-release --target ferry_wasm ferry_wasm_node >/dev/null)
rm -rf dist
# The declarations keep their doc comments for editors; the JavaScript a page
# downloads leaves them out (36.8 -> 23.5 KB gzip for the files of
# files.json on 2026-12-02).
npx tsc -p tsconfig.json --emitDeclarationOnly
npx tsc -p tsconfig.json --declaration false --removeComments
wasm="$root/build/wasm-release/bindings/js"
# Both glues are linked from the same objects, so their .wasm is the same
# file and ships once; should a link option ever make them differ, stop here.
cmp -s "$wasm/ferry_wasm.wasm" "$wasm/ferry_wasm_node.wasm" || { echo "ferry_wasm.wasm and ferry_wasm_node.wasm differ" >&2; exit 1; }
cp "$wasm/ferry_wasm.mjs" "$wasm/ferry_wasm_node.mjs" "$wasm/ferry_wasm.wasm" dist/
# files.json: every file a page or worker may load from the package (not the
# Node entry's: node.js, *_node.[m]js, nor the native backend's, native.js,
# native_binding.js and native_transport_fetch.js, nor React Native's,
# react_native*.js, nor the Vite plugin, vite.js), so an app whose service
# worker caches it for offline use never keeps its own list.
(cd dist && node -e 'const fs = require("fs"); const files = fs.readdirSync(".").filter((f) => /\.(m?js|wasm)$/.test(f) && !/(^|_)node\.m?js$/.test(f) && !/^native(_binding|_transport_fetch)?\.js$/.test(f) && !/^react_native/.test(f) && f !== "vite.js").sort(); fs.writeFileSync("files.json", JSON.stringify(files) + "\n");')
echo "built web/dist: $(ls dist | tr '\n' ' ')"
# What a web app downloads may not grow past its budget (size/budget.json).
node size/bundle_size.mjs --check
