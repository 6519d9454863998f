#!/usr/bin/env bash
# ferry-server under load, on this machine, in one run; writes the "Server
# under load" section of docs/BENCHMARKS.md (between its markers, the rest of
# the file is kept).
#   bench/server_bench.sh          small sizes (1,000 live streams, 20,000 documents)
#   bench/server_bench.sh --full   the issue's sizes (12,000 live streams, 100,000 documents)
# Needs PostgreSQL 15 (scripts/install-deps.sh); as root, PostgreSQL runs as
# the `postgres` account. The load generator (bench/server_bench.cc), the
# servers and PostgreSQL share the machine's cores: compare ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

full=0
[[ ${1:-} == --full ]] && full=1
if ((full)); then
  streams=12000 probes=200 pushes=25 latency_pushes=10
else
  streams=1000 probes=100 pushes=5 latency_pushes=3
fi
throughput_clients=8 batch=500 latency_clients=200 latency_batch=50

# Each stream is a socket in the server and one in the load generator.
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < streams + 1000)); then
  echo "ulimit -n is $(ulimit -n): too low for $streams streams" >&2
  exit 1
fi

cmake --preset native-release -DFERRY_BUILD_BENCH=ON >/dev/null
cmake --build --preset native-release -j "${FERRY_BUILD_JOBS:-$(nproc)}" --target ferry-server server_bench >/dev/null
server=build/native-release/server/ferry-server
bench=build/native-release/bench/server_bench

work=$(mktemp -d)
chmod 755 "$work"
pg_bin=/usr/lib/postgresql/15/bin
as_postgres=()
[[ $(id -u) == 0 ]] && as_postgres=(/usr/sbin/runuser -u postgres --)
server_pids=()
stop_servers() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  server_pids=()
}
cleanup() {
  stop_servers
  if [[ -f $work/pg/PG_VERSION ]]; then
    "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# 400 users: stream i is user i mod 400, so no user reaches the per-user cap.
for i in $(seq 0 399); do echo "bench-token-$i bench-user-$i"; done >"$work/tokens.txt"

# Starts a ferry-server with the given flags; its endpoint in $endpoint, its pid in $pid.
start_server() {
  local out="$work/server-${#server_pids[@]}.out"
  "$server" --tokens "$work/tokens.txt" --port 0 --quiet "$@" >"$out" &
  pid=$!
  server_pids+=("$pid")
  for _ in $(seq 200); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
  endpoint=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$out")
  [[ -n $endpoint ]] || { echo "ferry-server did not start" >&2; exit 1; }
}

# PostgreSQL with its default durability (every commit flushed), on a unix
# socket in $work; a fresh database per figure.
mkdir "$work/pg" "$work/socket"
if [[ ${#as_postgres[@]} -gt 0 ]]; then chown postgres "$work/pg" "$work/socket"; fi
"${as_postgres[@]}" "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 >/dev/null
"${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-k $work/socket -c listen_addresses='' -c max_connections=200" start >/dev/null
database=0
fresh_database() {
  database=$((database + 1))
  "$pg_bin/psql" -q -h "$work/socket" -U postgres -d postgres -c "CREATE DATABASE bench$database" >/dev/null
  postgres_url="postgresql:///bench$database?host=$work/socket&user=postgres"
}

results="$work/results.jsonl"
run() { echo "  $*" >&2; "$@" | tee -a "$results" >&2; }
label() { sed "s/^{/{\"label\":\"$1\",/" | tee -a "$results" >&2; }

echo "==> $streams live streams held by one instance (SQLite)" >&2
start_server --db "$work/streams.db" --max-live-streams $((streams + 100)) --max-connections $((streams + 500))
run "$bench" streams "$endpoint" "$work/tokens.txt" "$streams" "$pid" "$probes"
stop_servers

echo "==> push and pull docs/s: SQLite, PostgreSQL, two instances on PostgreSQL" >&2
start_server --db "$work/throughput.db"
"$bench" push "$endpoint" "$work/tokens.txt" $throughput_clients $pushes $batch | label sqlite
"$bench" pull "$endpoint" "$work/tokens.txt" $throughput_clients | label sqlite
stop_servers
fresh_database
start_server --postgres "$postgres_url"
"$bench" push "$endpoint" "$work/tokens.txt" $throughput_clients $pushes $batch | label postgres
"$bench" pull "$endpoint" "$work/tokens.txt" $throughput_clients | label postgres
stop_servers
# The request pool is sized to the cores; on PostgreSQL its threads mostly
# wait for the database, so a larger pool is measured too (the pool holds 8
# database connections).
fresh_database
start_server --postgres "$postgres_url" --threads 8
"$bench" push "$endpoint" "$work/tokens.txt" $throughput_clients $pushes $batch | label postgres-t8
"$bench" pull "$endpoint" "$work/tokens.txt" $throughput_clients | label postgres-t8
stop_servers
fresh_database
start_server --postgres "$postgres_url"
first=$endpoint
start_server --postgres "$postgres_url"
"$bench" push "$first,$endpoint" "$work/tokens.txt" $throughput_clients $pushes $batch | label postgres-2
"$bench" pull "$first,$endpoint" "$work/tokens.txt" $throughput_clients | label postgres-2
stop_servers

echo "==> latency of a push of $latency_batch under $latency_clients concurrent clients" >&2
start_server --db "$work/latency.db"
"$bench" push "$endpoint" "$work/tokens.txt" $latency_clients $latency_pushes $latency_batch | label latency-sqlite
stop_servers
fresh_database
start_server --postgres "$postgres_url"
"$bench" push "$endpoint" "$work/tokens.txt" $latency_clients $latency_pushes $latency_batch | label latency-postgres
stop_servers
fresh_database
start_server --postgres "$postgres_url" --threads 8
"$bench" push "$endpoint" "$work/tokens.txt" $latency_clients $latency_pushes $latency_batch | label latency-postgres-t8
stop_servers

command=bench/server_bench.sh
if ((full)); then command+=" --full"; fi  # ((0)) fails: a bare (( )) would stop set -e
if [[ -n ${FERRY_BENCH_RESULTS:-} ]]; then cp "$results" "$FERRY_BENCH_RESULTS"; fi
source bench/compare.sh
compare_and_keep "$results" docs/benchmarks/server.jsonl
python3 bench/server_section.py "$results" "$command" docs/BENCHMARKS.md "${FERRY_BENCH_NOTE:-}"
echo "wrote the server section of docs/BENCHMARKS.md" >&2
