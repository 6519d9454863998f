#!/usr/bin/env python3
"""Prints docs/BENCHMARKS.md's section on local queries (issue 18) from the
JSON lines of bench/query_bench.cc ("query", "query-writes") and of
web/bench/query_bench.mjs ("browser-query", "browser-query-writes") in the
file named by argv[1]; lines of other benchmarks are ignored, and the
Chromium table is left out when its lines are missing. argv[2], when given,
is the command to name, as Markdown (`bench/run.sh` by default)."""
import datetime
import json
import os
import platform
import sys

lines = [json.loads(raw) for raw in map(str.strip, open(sys.argv[1])) if raw.startswith("{")]
command = sys.argv[2] if len(sys.argv) > 2 else "`bench/run.sh`"


def of(bench):
    return [line for line in lines if line.get("bench") == bench]


def machine():
    model = platform.processor()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores (shared), {mem_gib:.0f} GiB, {platform.system()} {platform.release()}"


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
