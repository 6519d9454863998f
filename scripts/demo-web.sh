#!/usr/bin/env bash
# The web demo (web/examples/notes): builds ferry-sync and ferry-server, puts
# the app and the package into one folder, and serves it with ferry-server on
# http://127.0.0.1:${PORT:-8080}/ until Ctrl-C. Open that address in a browser,
# add notes, turn the network off (DevTools) and on, close the tab with notes
# pending and watch them arrive anyway (the service worker delivers them).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "==> building ferry-server (release) and ferry-sync"
cmake --preset native-release >/dev/null
cmake --build --preset native-release -j "$(nproc)" --target ferry-server >/dev/null
web/build.sh >/dev/null

site=build/web-demo/site
rm -rf "$site"
web/examples/notes/build.sh web/dist "$site"  # the app (React, bundled) beside the package
echo "demo-token demo" >build/web-demo/tokens.txt  # the token the demo app sends (config.js)

echo "==> the notes app: http://127.0.0.1:${PORT:-8080}/"
exec build/native-release/server/ferry-server --tokens build/web-demo/tokens.txt \
  --db build/web-demo/server.db --port "${PORT:-8080}" --static "$site"
