#!/usr/bin/env python3
"""bench/compare.py on made-up runs: what counts as a regression, which
figures are compared as ratios to their baseline, and what is not compared."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def run_lines(*lines):
    return compare.index(lines)


class Regressions(unittest.TestCase):
    def found(self, committed, new, threshold=0.2):
        return compare.regressions(run_lines(*committed), run_lines(*new), threshold)

    def test_throughput_and_latency_beyond_the_threshold(self):
        committed = [{"bench": "push", "n": 100000, "docs_per_s": 20000, "seconds": 5.0},
                     {"bench": "live-latency", "n": 200, "p50_ms": 50.0, "p99_ms": 80.0}]
        new = [{"bench": "push", "n": 100000, "docs_per_s": 15000, "seconds": 6.7},
               {"bench": "live-latency", "n": 200, "p50_ms": 55.0, "p99_ms": 120.0}]
        found, compared = self.found(committed, new)
        self.assertEqual(compared, 4)
        self.assertEqual({(line, figure) for line, figure, *_ in found},
                         {("push (n=100000)", "docs_per_s"), ("push (n=100000)", "seconds"),
                          ("live-latency (n=200)", "p99_ms")})
        worse = {figure: w for _, figure, _, _, w in found}
        self.assertAlmostEqual(worse["docs_per_s"], 0.25)
        self.assertAlmostEqual(worse["p99_ms"], 1 - 80 / 120)

    def test_improvements_and_small_changes_are_not_reported(self):
        committed = [{"bench": "pull", "n": 10, "docs_per_s": 100, "p50_ms": 10}]
        new = [{"bench": "pull", "n": 10, "docs_per_s": 85, "p50_ms": 2}]
        self.assertEqual(self.found(committed, new)[0], [])

    def test_a_baselined_figure_is_compared_as_its_ratio(self):
        # The machine got twice as slow: Ferry and raw SQLite both, so no
        # regression; then Ferry alone got slower.
        committed = [{"bench": "write-latency", "n": 5000, "ferry_p50_us": 40, "raw_p50_us": 10}]
        slower_machine = [{"bench": "write-latency", "n": 5000, "ferry_p50_us": 80, "raw_p50_us": 20}]
        self.assertEqual(self.found(committed, slower_machine)[0], [])
        slower_ferry = [{"bench": "write-latency", "n": 5000, "ferry_p50_us": 60, "raw_p50_us": 10}]
        found, _ = self.found(committed, slower_ferry)
        self.assertEqual([figure for _, figure, *_ in found], ["ferry_p50_us / raw_p50_us"])

    def test_a_figure_with_a_peer_is_compared_as_its_ratio_to_the_peer(self):
        # PouchDB's push of the same size is Ferry's push's baseline: both
        # slower is the machine; Ferry alone slower is a regression, and the
        # peer's own figures are never reported.
        committed = [{"bench": "push", "n": 1000, "docs_per_s": 6000, "seconds": 0.17},
                     {"bench": "pouchdb-push", "n": 1000, "docs_per_s": 1500, "seconds": 0.67}]
        slower_machine = [{"bench": "push", "n": 1000, "docs_per_s": 3000, "seconds": 0.33},
                          {"bench": "pouchdb-push", "n": 1000, "docs_per_s": 750, "seconds": 1.33}]
        self.assertEqual(self.found(committed, slower_machine), ([], 2))
        slower_ferry = [{"bench": "push", "n": 1000, "docs_per_s": 3000, "seconds": 0.33},
                        {"bench": "pouchdb-push", "n": 1000, "docs_per_s": 1500, "seconds": 0.67}]
        found, _ = self.found(committed, slower_ferry)
        self.assertEqual({figure for _, figure, *_ in found},
                         {"docs_per_s / peer_docs_per_s", "seconds / peer_seconds"})
        slower_peer = [{"bench": "push", "n": 1000, "docs_per_s": 6000, "seconds": 0.17},
                       {"bench": "pouchdb-push", "n": 1000, "docs_per_s": 100, "seconds": 10}]
        self.assertEqual(self.found(committed, slower_peer)[0], [])

    def test_only_the_peer_of_the_same_size_is_a_baseline(self):
        run = run_lines({"bench": "pull", "n": 1000, "docs_per_s": 20000},
                        {"bench": "pouchdb-pull", "n": 10, "docs_per_s": 1500},
                        {"bench": "pouchdb-pull-ferry-batches", "n": 1000, "docs_per_s": 2000})
        self.assertEqual(list(run.values()), [{"bench": "pull", "n": 1000, "docs_per_s": 20000}])

    def test_lines_of_other_sizes_or_labels_are_not_compared(self):
        committed = [{"bench": "push", "n": 100000, "docs_per_s": 20000},
                     {"bench": "server-push", "label": "sqlite", "docs_per_s": 50000}]
        new = [{"bench": "push", "n": 10000, "docs_per_s": 1000},
               {"bench": "server-push", "label": "postgres", "docs_per_s": 1000}]
        self.assertEqual(self.found(committed, new), ([], 0))

    def test_failures_where_there_were_none_are_a_regression(self):
        committed = [{"bench": "server-push", "label": "sqlite", "failures": 0, "p50_ms": 10}]
        new = [{"bench": "server-push", "label": "sqlite", "failures": 3, "p50_ms": 10}]
        found, _ = self.found(committed, new)
        self.assertEqual([figure for _, figure, *_ in found], ["failures"])

    def test_counts_and_other_libraries_are_not_figures(self):
        self.assertIsNone(compare.direction("clients"))
        self.assertIsNone(compare.direction("n"))
        self.assertIsNone(compare.direction("raw_p50_us"))
        self.assertIsNone(compare.direction("raw2_docs_per_s"))
        self.assertEqual(compare.direction("wasm_gzip"), -1)
        self.assertEqual(compare.direction("reads_per_s"), +1)


class CommandLine(unittest.TestCase):
    def write(self, directory, name, lines):
        path = os.path.join(directory, name)
        with open(path, "w") as out:
            out.write("not json: a log line the benchmarks printed\n")
            for line in lines:
                out.write(json.dumps(line) + "\n")
        return path

    def test_prints_each_regression_and_a_summary(self):
        with tempfile.TemporaryDirectory() as directory:
            old = self.write(directory, "old.jsonl", [{"bench": "pull", "docs_per_s": 100},
                                                      {"bench": "json", "rapidjson_parse_mb_s": 900}])
            new = self.write(directory, "new.jsonl", [{"bench": "pull", "docs_per_s": 50},
                                                      {"bench": "json", "rapidjson_parse_mb_s": 1}])
            result = subprocess.run([sys.executable, compare.__file__, old, new],
                                    capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("REGRESSION pull: docs_per_s 100 -> 50 (50% worse)", result.stdout)
        self.assertNotIn("rapidjson", result.stdout, "the JSON libraries are not Ferry's figures")
        self.assertIn("1 regression(s) beyond 20% among 1 figures", result.stdout)

    def test_a_missing_file_is_exit_2(self):
        result = subprocess.run([sys.executable, compare.__file__, "/nonexistent", "/nonexistent"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    unittest.main()
