#!/usr/bin/env python3
"""Compares a benchmark run with the figures committed beside docs/BENCHMARKS.md
and prints what got worse by more than a threshold (20% by default), so a run
shows at once what regressed.

    bench/compare.py COMMITTED.jsonl NEW.jsonl [--threshold 0.2]

Both files hold the JSON lines the benchmarks print (bench/run.sh and
bench/server_bench.sh keep theirs in docs/benchmarks/). A figure is one
numeric field of one line; lines are matched by their bench name and the
fields that say what was measured (label, stored, n, ...), so a run at other
sizes is not compared with the committed one.

Where a line carries its own baseline measured in the same run (raw SQLite
beside Ferry), the ratio to the baseline is compared rather than the absolute
figure: the machine is shared, and a ratio within a run is what survives its
noise. Other figures are compared as they are.

A peer library measured in the same run (PouchDB's push and pull beside
Ferry's, bench/pouchdb/) is such a baseline too: Ferry's push is compared as
its ratio to PouchDB's push of the same size, and the peer's own figures are
not compared (they are not Ferry's).

Prints one line per regression and a summary; exits 0 either way (a slower
machine is not a failed build), 2 when a file cannot be read.
"""
import argparse
import json
import re
import sys

# Fields that say what was measured, not how well: they identify a line.
IDENTITY = ("bench", "label", "stored", "n", "clients", "batch", "pushes", "streams", "probes",
            "store", "indexes", "query")

# Ferry's figure over the same run's baseline: the ratio is the figure.
BASELINES = {
    "ferry_p50_us": "raw_p50_us",
    "ferry_p99_us": "raw_p99_us",
    "ferry_docs_per_s": "raw_rows_per_s",
    "docs_per_s": "peer_docs_per_s",
    "seconds": "peer_seconds",
}

# A peer's line -> the Ferry line it is the baseline of; index() copies the
# peer's figures into that line as peer_*.
PEERS = {"pouchdb-push": "push", "pouchdb-pull": "pull"}

# Lines that measure other libraries, not Ferry (the JSON library choice,
# PouchDB with other batches than its defaults).
SKIPPED_BENCHES = re.compile(r"^(json(-wasm|-size-.*)?|pouchdb-.*)$")

# Raw SQLite's own figures (one row, two rows) and a peer's: baselines, not Ferry's.
BASELINE_FIELD = re.compile(r"^(raw\d*|peer)_")

HIGHER_IS_BETTER = re.compile(r"(_per_s|_mb_s)$")
LOWER_IS_BETTER = re.compile(
    r"(_ms|_us|seconds|_kb|_kb_open|_kb_drained|_bytes|_gzip|^gzip|bytes_per_stream|^failures|^refused)$")


def direction(field):
    """+1 when a higher value is better, -1 when lower is, None when the
    field is not a figure (a count, a size that was asked for)."""
    if field in IDENTITY or BASELINE_FIELD.match(field):
        return None
    if HIGHER_IS_BETTER.search(field):
        return +1
    if LOWER_IS_BETTER.search(field):
        return -1
    return None


def identity(line):
    return tuple((key, line[key]) for key in IDENTITY if key in line)


def figures(line):
    """{name: (value, direction)} of one line, baselined fields as ratios."""
    out = {}
    for field, value in line.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        better = direction(field)
        if better is None:
            continue
        baseline = BASELINES.get(field)
        if baseline and line.get(baseline):
            out[f"{field} / {baseline}"] = (value / line[baseline], better)
        else:
            out[field] = (value, better)
    return out


def index(entries):
    """{identity: line} of a run's parsed lines, without the lines that are
    not Ferry's, each peer's figures copied into the Ferry line of the same
    size as peer_* fields (the baselines its figures are compared against)."""
    lines, peers = {}, []
    for line in entries:
        bench = str(line.get("bench", ""))
        if bench in PEERS:
            peers.append(line)
        elif not SKIPPED_BENCHES.match(bench):
            lines[identity(line)] = line
    for peer in peers:
        ferry = lines.get(identity({**peer, "bench": PEERS[peer["bench"]]}))
        if ferry is not None:
            ferry.update({f"peer_{field}": peer[field] for field in ("docs_per_s", "seconds")
                          if field in peer})
    return lines


def load(path):
    with open(path) as text:
        return index(json.loads(raw) for raw in map(str.strip, text) if raw.startswith("{"))


def name(key):
    bench = dict(key).get("bench", "?")
    rest = ", ".join(f"{k}={v}" for k, v in key if k != "bench")
    return f"{bench} ({rest})" if rest else bench


def regressions(committed, new, threshold):
    """(found, compared): each found one is (line name, figure, old, new,
    how much worse as a fraction)."""
    found, compared = [], 0
    for key, line in new.items():
        if key not in committed:
            continue
        old_figures = figures(committed[key])
        for figure, (value, better) in figures(line).items():
            if figure not in old_figures:
                continue
            compared += 1
            old = old_figures[figure][0]
            if old <= 0 or value <= 0:
                # Only a count of bad things can start at zero (failures,
                # refusals): any of them where there were none is worse.
                if better < 0 and old <= 0 < value:
                    found.append((name(key), figure, old, value, 1.0))
                continue
            # How much worse, as a fraction of the old figure's goodness:
            # half the throughput and twice the latency are both 0.5.
            worse = 1 - (value / old if better > 0 else old / value)
            if worse > threshold:
                found.append((name(key), figure, old, value, worse))
    return found, compared


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("committed")
    parser.add_argument("new")
    parser.add_argument("--threshold", type=float, default=0.2)
    args = parser.parse_args(argv)
    try:
        committed, new = load(args.committed), load(args.new)
    except (OSError, ValueError) as error:
        print(f"bench/compare.py: {error}", file=sys.stderr)
        return 2
    found, compared = regressions(committed, new, args.threshold)
    for line, figure, old, value, worse in found:
        print(f"REGRESSION {line}: {figure} {old:,.4g} -> {value:,.4g} ({worse:.0%} worse)")
    print(f"{len(found)} regression(s) beyond {args.threshold:.0%} among {compared} figures "
          f"compared with {args.committed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
