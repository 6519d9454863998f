#!/usr/bin/env python3
"""Prints docs/BENCHMARKS.md's section on the Node addon vs the wasm build from
bench/node_bench.sh's JSON lines (the file named by argv[1]; lines of other
benchmarks are ignored). bench/run.sh includes it; run on its own it says so."""
import datetime
import os
import platform
import sys

from results import by_bench, cpu_model

results = by_bench(sys.argv[1])
native, wasm = results["node-native"], results["node-wasm"]
command = sys.argv[2] if len(sys.argv) > 2 else "bench/run.sh"

def machine():
    return f"{cpu_model()}, {os.cpu_count()} cores (shared), {platform.system()} {platform.release()}, Node {os.popen('node --version').read().strip()}"

def faster(ratio):
    return f"{ratio:.2f}× " + ("(addon faster)" if ratio >= 1 else "(wasm faster)")

rows = [
    ("Durable single write (`await put`), p50",
     f"{native['single_p50_ms'] * 1000:.0f} µs vs {wasm['single_p50_ms'] * 1000:.0f} µs",
     faster(wasm['single_p50_ms'] / native['single_p50_ms'])),
    ("Durable single write, p99",
     f"{native['single_p99_ms'] * 1000:.0f} µs vs {wasm['single_p99_ms'] * 1000:.0f} µs",
     faster(wasm['single_p99_ms'] / native['single_p99_ms'])),
    ("Batched writes (1,000 a `write`)",
     f"{native['batch_docs_per_s']:,.0f} vs {wasm['batch_docs_per_s']:,.0f} docs/s",
     faster(native['batch_docs_per_s'] / wasm['batch_docs_per_s'])),
    ("Reads (`await get`, one at a time)",
     f"{native['reads_per_s']:,.0f} vs {wasm['reads_per_s']:,.0f} reads/s",
     faster(native['reads_per_s'] / wasm['reads_per_s'])),
    (f"Push of {native['pushed']:,} pending writes to ferry-server",
     f"{native['push_docs_per_s']:,.0f} vs {wasm['push_docs_per_s']:,.0f} docs/s",
     faster(native['push_docs_per_s'] / wasm['push_docs_per_s'])),
    (f"Pull of {native['pulled']:,} documents by a new client",
     f"{native['pull_docs_per_s']:,.0f} vs {wasm['pull_docs_per_s']:,.0f} docs/s",
     faster(native['pull_docs_per_s'] / wasm['pull_docs_per_s'])),
]
print("\n## Node: the addon vs the wasm build (issue 14)\n")
print(f"`ferry-sync` in Node 20 with each implementation, measured in the same run by `bench/node_bench.sh`")
print(f"(`bench/node_bench.mjs`: both packed packages installed into a fresh project, each implementation")
print(f"against a fresh ferry-server on loopback; {native['n']:,} documents of ~200 B, {native['singles']:,} single")
print(f"writes). Command: `{command}`, {datetime.date.today().isoformat()}, on {machine()}.")
print("Ratios compare the two in this run; the addon is the native-release `ferry.node`, the wasm")
print("build the release `ferry_wasm.wasm`.\n")
print("| what | addon vs wasm | ratio |")
print("|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
print("""
Why the figures fall where they do: the addon commits to SQLite and runs the
engine on the client's own threads, so every call crosses to its worker and
back through one thread-safe function, and a write also waits for its events
to be delivered first (`ferry_client_flush_events`, a round trip to the owner
thread): tens of microseconds a call. It wins where a call does real work
(batches, push and pull, its tail latencies, and the event loop never stalls:
web/test/native.test.mjs) and loses where a call does almost none (a read of a
small document, or one small write, which the wasm build does in the event
loop itself).
""")
