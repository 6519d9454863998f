"""A run's JSON lines (bench/run.sh's results file), for the scripts that
write sections of docs/BENCHMARKS.md from them."""
import json
import platform


def cpu_model():
    """The CPU's model name, as /proc/cpuinfo gives it (the page names the machine)."""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def by_bench(path):
    """{bench name: its line}; lines that are not JSON (logs) are skipped."""
    results = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            entry = json.loads(line)
            results[entry["bench"]] = entry
    return results
