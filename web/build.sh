#!/usr/bin/env bash
# Builds the npm package ferry-sync into web/dist: the wasm module (CMake
# preset wasm-release, target ferry_wasm) and the TypeScript wrapper.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
export NODE_PATH=/usr/share/nodejs  # emcc's JS optimizer needs acorn
(cd "$root" && cmake --preset wasm-release >/dev/null && cmake --build --preset wasm-release --target ferry_wasm >/dev/null)
if [[ ! -d node_modules/typescript ]]; then npm ci --no-audit --no-fund >/dev/null; fi
rm -rf dist
npx tsc -p tsconfig.json
cp "$root/build/wasm-release/bindings/js/ferry_wasm.mjs" "$root/build/wasm-release/bindings/js/ferry_wasm.wasm" dist/
# files.json: every file a page or worker may load from the package, so an app
# whose service worker caches it for offline use never keeps its own list.
(cd dist && node -e 'const fs = require("fs"); const files = fs.readdirSync(".").filter((f) => /\.(m?js|wasm)$/.test(f)).sort(); fs.writeFileSync("files.json", JSON.stringify(files) + "\n");')
echo "built web/dist: $(ls dist | tr '\n' ' ')"
