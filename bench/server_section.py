#!/usr/bin/env python3
"""Writes the "Server under load" section of docs/BENCHMARKS.md from the JSON
lines of bench/server_bench.sh (server_bench's output, labelled), between its
markers; the rest of the file is kept.

    bench/server_section.py RESULTS.jsonl COMMAND docs/BENCHMARKS.md [NOTE]

NOTE: a sentence about this run's conditions (bench/server_bench.sh passes
$FERRY_BENCH_NOTE), printed after the machine.
"""
import datetime
import json
import os
import platform
import sys

from results import cpu_model


def render(results_path, command, note=""):
    rows = [json.loads(line) for line in open(results_path)]
    def find(bench, label=None):
        return next(r for r in rows if r["bench"] == bench and r.get("label") == label)
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    s = find("server-streams")
    push = {l: find("server-push", l) for l in ("sqlite", "postgres", "postgres-t8", "postgres-2")}
    pull = {l: find("server-pull", l) for l in ("sqlite", "postgres", "postgres-t8", "postgres-2")}
    lat = {l: find("server-push", "latency-" + l) for l in ("sqlite", "postgres", "postgres-t8")}
    out = []
    out.append("## Server under load (issue 15)\n")
    out.append(f"Figures from one run of `{command}` on {datetime.date.today().isoformat()}, release build, on "
               f"{cpu_model()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.system()} {platform.release()}. "
               "The load generator (`bench/server_bench.cc`: HTTP/1.1 over kept-alive sockets, a thread per "
               "client), ferry-server and PostgreSQL 15 all share these cores, and the machine is shared with "
               "other builds: compare the ratios within the run, not the absolute figures across runs."
               + (f" {note}" if note else "") + "\n")
    out.append("### Live streams held by one instance\n")
    out.append(f"{s['streams'] - s['refused']:,} `/v1/live` streams open at once on one ferry-server (SQLite; "
               f"{s['refused']} refused), opened in {s['open_seconds']:.1f} s, 400 users. Server RSS "
               f"{s['rss_before_kb'] / 1024:.1f} MB before, {s['rss_held_kb'] / 1024:.1f} MB with the streams held: "
               f"**{s['bytes_per_stream'] / 1024:.1f} KiB per stream** (goal: at least 10,000 streams, "
               f"{'met' if s['streams'] - s['refused'] >= 10000 else '**not met**'}). The script raises "
               "`--max-live-streams` (default 10,000) and `--max-connections` above the count and `ulimit -n` "
               f"to its hard limit. Latency of {s['probes']} pushes of one "
               "document and pulls of one page, one at a time, before the streams were opened and while they "
               "were held (each push also pokes its user's streams):\n")
    out.append("| | no streams | streams held | ratio |\n|---|---|---|---|")
    for name, key in (("push p50", "push_p50"), ("push p99", "push_p99"), ("pull p50", "pull_p50"), ("pull p99", "pull_p99")):
        idle, held = s["idle_" + key + "_ms"], s["held_" + key + "_ms"]
        out.append(f"| {name} | {idle:.2f} ms | {held:.2f} ms | {held / idle:.2f}× |")
    out.append("")
    out.append(f"### Push and pull throughput\n")
    p = push["sqlite"]
    out.append(f"{p['clients']} clients (one user each) push {p['pushes']} batches of {p['batch']} new "
               f"documents of ~200 B each ({p['clients'] * p['pushes'] * p['batch']:,} documents), then each pulls "
               "its user's log from the start in pages of 1,000. PostgreSQL with its default durability "
               "(each commit flushed to disk); SQLite in WAL mode with synchronous=NORMAL (the server's default: "
               "a commit survives a crash of the process; after a power loss the last commits may roll back). Two instances: the clients split "
               "evenly between two ferry-servers on one database. Every server has the default request pool "
               f"(one thread per core, at least 2: {os.cpu_count()} here) unless `--threads` says otherwise.\n")
    out.append("| | push docs/s | vs SQLite | pull docs/s | vs SQLite |\n|---|---|---|---|---|")
    for label, name in (("sqlite", "SQLite, one instance"), ("postgres", "PostgreSQL, one instance"),
                        ("postgres-t8", "PostgreSQL, one instance, `--threads 8`"), ("postgres-2", "PostgreSQL, two instances")):
        out.append(f"| {name} | {push[label]['docs_per_s']:,.0f} | {push[label]['docs_per_s'] / push['sqlite']['docs_per_s']:.2f}× | "
                   f"{pull[label]['docs_per_s']:,.0f} | {pull[label]['docs_per_s'] / pull['sqlite']['docs_per_s']:.2f}× |")
    out.append(f"\nTwo instances vs one on PostgreSQL: push {push['postgres-2']['docs_per_s'] / push['postgres']['docs_per_s']:.2f}×, "
               f"pull {pull['postgres-2']['docs_per_s'] / pull['postgres']['docs_per_s']:.2f}×; "
               f"`--threads 8` vs the default pool: push {push['postgres-t8']['docs_per_s'] / push['postgres']['docs_per_s']:.2f}×.\n")
    t8 = push["postgres-t8"]["docs_per_s"] / push["postgres"]["docs_per_s"]
    out.append("How to read these: on PostgreSQL a push is one transaction of about a dozen statements whatever "
               "its size (the user's row lock, one read of every document it touches, one write of them all and "
               "one of the outcomes, then the client's seq, the head and the notify: server/src/storage_postgres.cc), "
               "and its commit waits for PostgreSQL's flush to disk, which SQLite's synchronous=NORMAL does not. "
               f"On the same cores, 8 request threads instead of the default pool pushed {t8:.2f}× as many documents "
               "(more pushes in flight while others wait on the database). A pull is a few statements per page "
               "of 1,000.\n")
    l = lat["sqlite"]
    out.append(f"### Push latency under {l['clients']} concurrent clients\n")
    out.append(f"{l['clients']} clients (200 users), each sending {l['pushes']} pushes of {l['batch']} new documents "
               "back to back on its own connection; the latency of each push, request sent to answer read.\n")
    out.append("| | p50 | p99 | max | docs/s | failed pushes |\n|---|---|---|---|---|---|")
    for label, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL"), ("postgres-t8", "PostgreSQL, `--threads 8`")):
        r = lat[label]
        out.append(f"| {name} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['max_ms']:.1f} ms | {r['docs_per_s']:,.0f} | {r['failures']} |")
    return "\n".join(out) + "\n"


def splice(path, section):
    start, end = "<!-- server-bench: written by bench/server_bench.sh -->", "<!-- /server-bench -->"
    text = open(path).read()
    block = f"{start}\n{section}{end}\n"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end) + 1:]
    else:
        text = text.rstrip() + "\n\n" + block
    open(path, "w").write(text)


if __name__ == "__main__":
    splice(sys.argv[3], render(sys.argv[1], sys.argv[2], sys.argv[4] if len(sys.argv) > 4 else ""))
