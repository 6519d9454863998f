#!/usr/bin/env python3
"""Prints docs/BENCHMARKS.md's section on Ferry against PouchDB from a run's
JSON lines (the file named by argv[1]): Ferry's push and pull (ferry_bench)
and PouchDB's (pouchdb/pouchdb_bench.mjs, with its default batches and with
Ferry's) at the same size, Ferry's as a ratio of the peer's. bench/run.sh
includes it."""
import sys

from results import by_bench

results = by_bench(sys.argv[1])
ferry_push, ferry_pull = results["push"], results["pull"]
pouch_push, pouch_pull = results["pouchdb-push"], results["pouchdb-pull"]
sized_push, sized_pull = results["pouchdb-push-ferry-batches"], results["pouchdb-pull-ferry-batches"]
n = ferry_push["n"]
if any(entry["n"] != n for entry in (ferry_pull, pouch_push, pouch_pull, sized_push, sized_pull)):
    sys.exit("bench/pouchdb_section.py: Ferry and PouchDB were measured at different sizes")


def cell(entry):
    return f"{entry['docs_per_s']:,.0f} docs/s ({entry['seconds']:.2f} s)"


def ratio(ferry, pouch):
    return ferry["docs_per_s"] / pouch["docs_per_s"]


print(f"""
## Ferry against PouchDB (issue 16)

Ferry push: {ferry_push['docs_per_s']:,.0f} docs/s, {ratio(ferry_push, pouch_push):.1f}× PouchDB's {pouch_push['docs_per_s']:,.0f} docs/s.
Ferry pull: {ferry_pull['docs_per_s']:,.0f} docs/s, {ratio(ferry_pull, pouch_pull):.1f}× PouchDB's {pouch_pull['docs_per_s']:,.0f} docs/s.

The same {n:,} documents (~200 B, `ferry_bench`'s fields and keys), written
to a local store before the clock starts, then pushed to a fresh server and
pulled by a fresh, empty store: by Ferry (`ferry_bench push` and `pull`
against ferry-server) and by PouchDB 9 replicating to and from pouchdb-server
4.2 (`bench/pouchdb/pouchdb_bench.mjs`), one after the other in the same run.

| | Ferry | PouchDB | Ferry / PouchDB | PouchDB, Ferry's batch sizes | Ferry / that |
|---|---|---|---|---|---|
| push: {n:,} local writes to the server | {cell(ferry_push)} | {cell(pouch_push)} | {ratio(ferry_push, pouch_push):.2f}× | {cell(sized_push)} | {ratio(ferry_push, sized_push):.2f}× |
| pull: initial sync of {n:,} documents | {cell(ferry_pull)} | {cell(pouch_pull)} | {ratio(ferry_pull, pouch_pull):.2f}× | {cell(sized_pull)} | {ratio(ferry_pull, sized_pull):.2f}× |

What is the same and what is not:
- **Network and machine**: both over HTTP/1.1 on loopback, each server a
  process of its own beside its client, all sharing the machine's 2 cores;
  neither server writes a line per request (ferry-server `--quiet`,
  pouchdb-server at log level `warning`).
- **Batches**: Ferry pushes {sized_push['batch_size']:,} mutations a request and pulls pages of
  {sized_pull['batch_size']:,} documents. PouchDB is measured twice: with its defaults,
  `batch_size` {pouch_push['batch_size']} and `batches_limit` {pouch_push['batches_limit']} (up to that many batches
  read ahead), what its users get and what the headline ratios use; and with
  Ferry's sizes as `batch_size` (same `batches_limit`), the last two columns.
- **Durability**: Ferry's local stores and ferry-server's are SQLite in WAL
  mode, `synchronous=NORMAL`; PouchDB's, local and on pouchdb-server, are
  LevelDB (leveldown) with its default unsynced writes. Both keep every
  committed write through a crash of the process and leave the last ones to
  the operating system on a power loss: neither fsyncs each commit.
- **The work per document** differs by design: PouchDB keeps a revision tree
  for each document and replicates by comparing revisions (`_revs_diff`, then
  `_bulk_docs` with `new_edits: false` up; `_changes`, then `_bulk_get` down),
  with checkpoints in `_local` documents on both sides; Ferry sends its
  outbox's mutations up and the server's changes since a cursor down. Each is
  what its users get.
""")
