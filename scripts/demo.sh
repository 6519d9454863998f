#!/usr/bin/env bash
# The README's first quick-start command: builds what is needed and runs the
# demo (a client syncing with a local ferry-server).
set -euo pipefail
cd "$(dirname "$0")/.."
cat <<'MSG'
Not yet: the demo needs the native target (SQLite store, libcurl transport,
ferry-server), which lands with issue 3. Until then, `scripts/test.sh` builds
the sync core and runs its tests, including the deterministic simulation of
clients syncing with the model server under injected faults.
MSG
