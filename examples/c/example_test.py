#!/usr/bin/env python3
"""Runs the C example (sync_example.c) against a real ferry-server on loopback.

The example must exit 0, its run must complete, and what it wrote must reach
the server: a second run of the example on a fresh store pulls the note back.

    example_test.py FERRY_SERVER FERRY_C_EXAMPLE
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def start_server(binary, folder):
    (folder / "tokens.txt").write_text("token-alice alice\n")
    server = subprocess.Popen([binary, "--tokens", folder / "tokens.txt", "--db", folder / "server.db",
                               "--port", "0", "--quiet"], stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()  # "ferry-server listening on http://127.0.0.1:PORT"
    if "listening on " not in line:
        server.kill()
        sys.exit(f"ferry-server did not start: {line!r}")
    return server, line.split("listening on ", 1)[1].strip()


def run_example(example, endpoint, store):
    done = subprocess.run([example, "--endpoint", endpoint, "--token", "token-alice", "--store", store],
                          capture_output=True, text=True, timeout=60)
    print(done.stdout, done.stderr, sep="")
    if done.returncode != 0:
        sys.exit(f"the example exited {done.returncode}")
    return done.stdout


def expect(pattern, text, what):
    if not re.search(pattern, text, re.M):
        sys.exit(f"the example's output lacks {what} ({pattern})")


def main():
    server_binary, example = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        server, endpoint = start_server(server_binary, folder)
        try:
            first = run_example(example, endpoint, folder / "first.db")
            expect(r'^sync run: .*"outcome":"completed"', first, "a completed run")
            expect(r'^status: .*"pending":0', first, "nothing pending after the run")
            # A fresh store of the same user pulls the note the first one pushed.
            second = run_example(example, endpoint, folder / "second.db")
            expect(r'"outcome":"completed","pulled":1,', second, "the first store's note pulled")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("the C example syncs with ferry-server")


if __name__ == "__main__":
    main()
