#!/usr/bin/env bash
# Puts the notes demo into SITE: the page, the service worker, the built
# ferry-sync package (PACKAGE_DIST, as ferry-sync/) and app.js, app.jsx
# bundled with React by esbuild. ferry-sync's browser entry and config.js stay
# modules of their own, which the service worker (sw.js) shares; the hooks
# (ferry-sync/react.js) are bundled with React, whose npm package is CommonJS.
#   web/examples/notes/build.sh PACKAGE_DIST SITE
# scripts/demo-web.sh and web/test/demo.test.mjs build the demo with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dist=$(cd "${1:?usage: build.sh PACKAGE_DIST SITE}" && pwd)
site=${2:?usage: build.sh PACKAGE_DIST SITE}
# React and esbuild, at the versions of package-lock.json.
[[ -x $here/node_modules/.bin/esbuild && -d $here/node_modules/react ]] ||
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
mkdir -p "$site"
cp "$here"/{index.html,config.js,style.css,manifest.json,sw.js,app.jsx} "$site/"
rm -rf "$site/ferry-sync"
cp -r "$dist" "$site/ferry-sync"
# Bundled where it is served, so './ferry-sync/react.js' resolves; React
# comes from this folder's node_modules.
(cd "$site" && NODE_PATH="$here/node_modules" "$here/node_modules/.bin/esbuild" app.jsx \
  --bundle --format=esm --jsx=automatic --target=es2022 --minify --log-level=warning \
  --external:./ferry-sync/browser.js --external:./config.js --outfile=app.js)
rm "$site/app.jsx"
