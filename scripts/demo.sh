#!/usr/bin/env bash
# The README's first quick-start command: installs what is needed, builds
# ferry-server and the demo, starts the server on loopback, and runs the demo
# (two clients syncing through it). Everything lives in a temporary folder
# that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "==> building ferry-server and ferry-demo (release)"
cmake --preset native-release >/dev/null
cmake --build --preset native-release -j "$(nproc)" --target ferry-server ferry-demo >/dev/null

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token demo-user" >"$work/tokens.txt"
build/native-release/server/ferry-server --tokens "$work/tokens.txt" --db "$work/server.db" \
  --port 0 --quiet >"$work/server.out" &
server_pid=$!
for _ in $(seq 100); do
  grep -q listening "$work/server.out" 2>/dev/null && break
  sleep 0.05
done
endpoint=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/server.out")
[[ -n $endpoint ]] || { echo "ferry-server did not start" >&2; exit 1; }
echo "==> ferry-server is listening on $endpoint"
echo
build/native-release/examples/ferry-demo --endpoint "$endpoint" --token "$token" --dir "$work" --count "${FERRY_DEMO_COUNT:-3000}"
