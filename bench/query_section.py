#!/usr/bin/env python3
"""Prints docs/BENCHMARKS.md's section on local queries (issue 18) from the
JSON lines of bench/query_bench.cc ("query", "query-writes"), of
web/bench/query_bench.mjs ("browser-query", "browser-query-writes"), and
of the live-query benchmarks bench/live_query_bench.cc ("live-query",
"live-query-client") and web/bench/live_query_bench.mjs
("browser-live-query") in the file named by argv[1]; lines of other
benchmarks are ignored, and a table whose lines are missing is left out. argv[2], when given,
is the command to name, as Markdown (`bench/run.sh` by default)."""
import datetime
import json
import os
import platform
import sys

from results import cpu_model

lines = [json.loads(raw) for raw in map(str.strip, open(sys.argv[1])) if raw.startswith("{")]
command = sys.argv[2] if len(sys.argv) > 2 else "`bench/run.sh`"


def of(bench):
    return [line for line in lines if line.get("bench") == bench]


def machine():
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu_model()}, {os.cpu_count()} cores (shared), {mem_gib:.0f} GiB, {platform.system()} {platform.release()}"


def agent(user_agent):
    """HeadlessChrome/156.0.0.0 of a user agent, or the whole of it."""
    return next((word for word in user_agent.split() if word.startswith("HeadlessChrome/")), user_agent)


def ms(us):
    return f"{us / 1000:.2f} ms" if us < 10_000 else f"{us / 1000:.0f} ms"


WHAT = {
    "page": "page: `project` eq, orderBy `due`, limit 100",
    "count": "count: `project` eq",
    "range": "range: `project` eq, `due` in one month, orderBy `due`",
}
STORES = {"sqlite": "SQLite store", "memory": "memory store"}

queries, writes = of("query"), of("query-writes")
if queries or writes:
    n = queries[0]["n"] if queries else writes[0]["n"]
    print("\n## Local queries (issue 18)\n")
    print(f"Command: {command} (`bench/query_bench.cc`; in Chromium `web/bench/query_bench.mjs`), "
          f"{datetime.date.today().isoformat()}, on {machine()}. "
          "Every ratio compares two figures measured in the same run, interleaved.\n")
    print(f"{n:,} tasks of about 200 bytes in one collection (`project` one of 100, "
          "`due` a date string in 2026, `priority` 0–4, `state` one of three), "
          "the same documents in a store that declares an index on "
          '`["project", "due"]` and in one that declares none, so the same query '
          "reads the index or scans the collection (`ExplainQuery` checked). Each "
          "query must give the same answer on both (and on a store with three "
          "indexes), the page 100 documents, or the run aborts. Each round times "
          "one scan and 30 indexed answers; medians (and minimums) over the rounds.\n")
    print("| query (p42: 1 in 100 tasks) | results | with the index, median (min) | scan, median (min) "
          "| scan / index, medians (mins) | goal | |")
    print("|---|---|---|---|---|---|---|")
    for line in queries:
        ratio = line["scan_median_us"] / line["index_median_us"]
        ratio_min = line["scan_min_us"] / line["index_min_us"]
        goal, verdict = "", ""
        if line["query"] == "page" and line["store"] == "sqlite":
            goal = "< 1 ms natively with an index"
            verdict = "met" if line["index_median_us"] < 1000 else "**not met**"
        print(f"| {STORES[line['store']]}, {WHAT.get(line['query'], line['query'])} | {line['results']:,} | "
              f"{ms(line['index_median_us'])} ({ms(line['index_min_us'])}) | "
              f"{ms(line['scan_median_us'])} ({ms(line['scan_min_us'])}) | "
              f"{ratio:,.0f}× ({ratio_min:,.0f}×) | {goal} | {verdict} |")

    print("\nWhat indexes cost local writes: three fresh stores declaring 0, 1 "
          '(`["project", "due"]`) and 3 indexes (also `["state", "priority"]` and '
          '`["due"]`) receive the same writes, each batch or put to each store in '
          f"turn: {n:,} new tasks in batches of 1,000 (`HandleLocalWrites`, one "
          "durable commit each, as `Client::Write`), then single puts replacing "
          "random existing tasks (`HandleLocalWrite`, one commit each, as "
          "`Client::Put`), which move their index entries.\n")
    print("| store | indexes | bulk docs/s, median of batches (best) | vs 0 indexes | "
          "single put p50 (min) | vs 0 indexes |")
    print("|---|---|---|---|---|---|")
    for store in STORES:
        rows = [line for line in writes if line["store"] == store]
        base = next((line for line in rows if line["indexes"] == 0), None)
        for line in rows:
            bulk = line["bulk_median_docs_per_s"] / base["bulk_median_docs_per_s"]
            single = line["single_p50_us"] / base["single_p50_us"]
            print(f"| {STORES[store]} | {line['indexes']} | {line['bulk_median_docs_per_s']:,.0f} "
                  f"({line['bulk_best_docs_per_s']:,.0f}) | {bulk:.2f}× | "
                  f"{line['single_p50_us']:.0f} µs ({line['single_min_us']:.0f} µs, {line['singles']:,} puts) | "
                  f"{single:.2f}× |")

browser, browser_writes = of("browser-query"), of("browser-query-writes")
if browser:
    bn = browser[0]["n"]
    print(f"\nIn Chromium (headless, `--disable-gpu`; ferry-sync's wasm build over its "
          f"IndexedDB journal): {bn:,} tasks of the same shape (from another random "
          "generator, so the counts differ from the native ones), written with "
          "`autoSync: false` in batches of 1,000 to two clients open in one page, "
          "each batch to both in turn, one with "
          "`open({ indexes: [{ collection: 'tasks', paths: ['project', 'due'] }] })`, "
          "then `client.query(...)` / `client.count(...)` on each in turn. The page's "
          "clock ticks every 100 µs, so indexed answers are timed in groups of 10 "
          "(each sample a group's mean); "
          f"{agent(browser[0]['browser'])}.\n")
    print("| query | results | with the index, median (min) | scan, median (min) | scan / index, medians (mins) |")
    print("|---|---|---|---|---|")
    for line in browser:
        print(f"| {WHAT.get(line['query'], line['query'])} | {line['results']:,} | "
              f"{line['index_median_ms']:.2f} ms ({line['index_min_ms']:.2f} ms) | "
              f"{line['scan_median_ms']:.0f} ms ({line['scan_min_ms']:.0f} ms) | "
              f"{line['scan_median_ms'] / line['index_median_ms']:,.0f}× "
              f"({line['scan_min_ms'] / line['index_min_ms']:,.0f}×) |")
    base = next((line for line in browser_writes if line["indexes"] == 0), None)
    for line in browser_writes:
        if line["indexes"] and base:
            print(f"\nBatched writes (1,000 a `write`, resolved after the IndexedDB sync) "
                  f"with the index: {line['bulk_median_docs_per_s']:,.0f} docs/s median "
                  f"against {base['bulk_median_docs_per_s']:,.0f} without "
                  f"({line['bulk_median_docs_per_s'] / base['bulk_median_docs_per_s']:.2f}×).")

# Live queries: bench/live_query_bench.cc ("live-query", "live-query-client")
# and web/bench/live_query_bench.mjs ("browser-live-query").
live, live_client, browser_live = of("live-query"), of("live-query-client"), of("browser-live-query")
LIVE_WHAT = {
    "indexed": "page through the index: `project` eq, orderBy `due`, limit 100",
    "scan": "page the index does not serve: `state` eq, orderBy `due`, limit 100",
}


def ratio(value):
    return f"{value:.2f}×" if value < 10 else f"{value:,.0f}×"


def us(value):
    return f"{value:.0f} µs" if value < 1000 else ms(value)


if live or live_client or browser_live:
    ln = (live or live_client or browser_live)[0]["n"]
    print("\n### Live queries\n")
    print("A write that changes a live query's page, until the page comes out. Command: "
          "`build/native-release/bench/live_query_bench DIR` (`bench/live_query_bench.cc`), "
          "`web/bench.sh live_query_bench.mjs` in Chromium. "
          f"{ln:,} tasks as above in two stores that both declare the index on "
          '`["project", "due"]`; one subscribes the live query. Single writes that change '
          "its page, a task entering it, a member moving within it and a member leaving it in "
          "turn, go to both stores, the first one alternating. On the subscribed store the "
          "write is timed until its page comes out; on the other, the same write alone, and "
          "re-running the query after it (what an app without live queries does). Each page "
          "must be the re-run query's answer and hold the written document or not, as the "
          "write says, or the run aborts. Entering and moving update the page in place; a "
          "member leaving it makes the engine read the one document after the page's end (a "
          "seek in the index; a scan for a page the index does not serve), not the page again.\n")
    print("| store, live query | writes | write → page, p50 / p99 / max | write alone, p50 / p99 "
          "| live / alone, p50 | re-run query, p50 / p99 | write + re-run / live, p50 | "
          "p50 entering / moving / leaving | goal | |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for line in live:
        goal, verdict = "", ""
        if line["query"] == "indexed":
            goal = "< 1 ms natively"
            verdict = "met" if line["live_p50_us"] < 1000 and line["live_p99_us"] < 1000 else (
                "p50 met, p99 **not met**" if line["live_p50_us"] < 1000 else "**not met**")
        print(f"| {STORES[line['store']]}, {LIVE_WHAT.get(line['query'], line['query'])} | "
              f"{line['writes']:,} | {us(line['live_p50_us'])} / {us(line['live_p99_us'])} / "
              f"{us(line['live_max_us'])} | {us(line['alone_p50_us'])} / {us(line['alone_p99_us'])} | "
              f"{ratio(line['live_p50_us'] / line['alone_p50_us'])} | "
              f"{us(line['rerun_p50_us'])} / {us(line['rerun_p99_us'])} | "
              f"{ratio((line['alone_p50_us'] + line['rerun_p50_us']) / line['live_p50_us'])} | "
              f"{us(line['live_enter_p50_us'])} / {us(line['live_move_p50_us'])} / "
              f"{us(line['live_leave_p50_us'])} | {goal} | {verdict} |")
    for line in live_client:
        print(f"\nThrough `ferry::Client` (SQLite; what a C or C++ app sees): `Put` until the "
              "listener added with `AddEventListener` runs on the owner thread with the page, "
              f"{LIVE_WHAT.get(line['query'], line['query'])}, {line['writes']:,} puts: "
              f"p50 {us(line['live_p50_us'])}, p99 {us(line['live_p99_us'])}, max "
              f"{us(line['live_max_us'])} (min {us(line['live_min_us'])}; `Put` itself returned "
              f"after {us(line['live_put_p50_us'])} at p50), against `Put` on a client with no "
              f"live query {us(line['alone_p50_us'])} p50, {us(line['alone_p99_us'])} p99 "
              f"({line['live_p50_us'] / line['alone_p50_us']:.2f}× at p50). Entering / moving / "
              f"leaving p50: {us(line['live_enter_p50_us'])} / {us(line['live_move_p50_us'])} / "
              f"{us(line['live_leave_p50_us'])}.")
    for line in browser_live:
        met = line["live_p50_ms"] < 5 and line["live_p99_ms"] < 5
        print(f"\nIn Chromium ({agent(line['browser'])}, clock ticks of 100 µs): {line['n']:,} "
              "tasks written in batches of 1,000 (`autoSync: false`) to two clients declaring "
              "the index, one with `subscribeQuery(query, listener)`, "
              f"{LIVE_WHAT.get(line['query'], line['query'])}; {line['writes']:,} puts as above, "
              "each to both clients in turn.\n")
        print("| what | p50 | p99 | max | min |")
        print("|---|---|---|---|---|")
        for name, label in (("live", "`put` call until the listener has the page"),
                            ("live_resolved", "… until that `put` resolves (after its IndexedDB sync)"),
                            ("alone", "peer: `put` alone (no live query), awaited"),
                            ("requery", "peer: `client.query()` after it")):
            print(f"| {label} | {line[name + '_p50_ms']:.2f} ms | {line[name + '_p99_ms']:.2f} ms | "
                  f"{line[name + '_max_ms']:.2f} ms | {line[name + '_min_ms']:.2f} ms |")
        print(f"\nGoal: under 5 ms in Chromium: {'met' if met else ('p50 met, p99 **not met**' if line['live_p50_ms'] < 5 else '**not met**')} "
              f"(p50 entering / moving / leaving: {line['live_enter_p50_ms']:.2f} / "
              f"{line['live_move_p50_ms']:.2f} / {line['live_leave_p50_ms']:.2f} ms). The page "
              f"reaches the listener before the put resolves: {line['live_p50_ms']:.2f} ms against "
              f"{line['live_resolved_p50_ms']:.2f} ms at p50; the put alone and a query after it "
              f"take {line['alone_p50_ms'] + line['requery_p50_ms']:.2f} ms at p50.")
