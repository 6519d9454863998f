#!/usr/bin/env python3
"""Runs the conformance suite against the reference ferry-server.

  run_reference.py --server build/native-debug/server/ferry-server [--backend sqlite|postgres]

Starts ferry-server on a free loopback port with two users' tokens, on a
SQLite file or on a PostgreSQL this script starts (initdb in a temporary
folder, pg_ctl on a unix socket there, no TCP port; as root through
`runuser -u postgres`, like tests/support/postgres_process.h), runs
conformance_test.py against it and stops both. Exits 0 when every check
passed, 1 when one failed, 77 (ctest's SKIP_RETURN_CODE) when PostgreSQL
is not installed for --backend postgres.
"""

import argparse
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

POSTGRES_BIN = "/usr/lib/postgresql/15/bin"
SKIPPED = 77

# Checks the reference server does not pass yet, each with the reason; a
# name here is skipped (FERRY_CONFORMANCE_SKIP), and reported as skipped.
# None today.
KNOWN_DEVIATIONS: dict = {}


class Postgres:
    """A throwaway PostgreSQL 15 cluster on a unix socket in `folder`."""

    def __init__(self, folder):
        self.folder = folder
        self.owner = None
        self.started = False
        if os.geteuid() == 0:
            self.owner = "postgres"
            account = pwd.getpwnam(self.owner)
            os.chmod(folder, 0o700)
            os.chown(folder, account.pw_uid, account.pw_gid)

    def run(self, *arguments):
        command = ["/usr/bin/env", "-C", self.folder, os.path.join(POSTGRES_BIN, arguments[0])]
        command += list(arguments[1:])
        if self.owner:
            command = ["/usr/sbin/runuser", "-u", self.owner, "--"] + command
        return subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode

    def start(self):
        data = os.path.join(self.folder, "data")
        if self.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-N", "-E", "UTF8") != 0:
            raise RuntimeError("initdb failed")
        options = "-k %s -c listen_addresses='' -c fsync=off" % self.folder
        if self.run("pg_ctl", "-D", data, "-l", os.path.join(self.folder, "log"), "-w", "-o", options,
                    "start") != 0:
            raise RuntimeError("pg_ctl start failed (log in %s/log)" % self.folder)
        self.started = True
        return "postgresql:///postgres?host=%s&user=postgres" % self.folder

    def stop(self):
        if self.started:
            self.run("pg_ctl", "-D", os.path.join(self.folder, "data"), "-m", "immediate", "-w", "stop")


def start_server(binary, folder, storage):
    tokens = os.path.join(folder, "tokens.txt")
    with open(tokens, "w") as out:
        out.write("conformance-one user-one\nconformance-two user-two\n")
    server = subprocess.Popen([binary, "--tokens", tokens, "--port", "0", "--quiet"] + storage,
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()  # "ferry-server listening on http://127.0.0.1:PORT"
    if "listening on " not in line:
        server.kill()
        raise RuntimeError("ferry-server did not start: %r" % line)
    return server, line.split("listening on ", 1)[1].strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the ferry-server executable")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    options = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="ferry-conformance-")
    postgres = None
    server = None
    try:
        if options.backend == "postgres":
            if not os.path.exists(os.path.join(POSTGRES_BIN, "initdb")):
                print("skipped: PostgreSQL 15 is not installed (scripts/install-deps.sh installs it)")
                return SKIPPED
            # A folder of its own: as root, the `postgres` account must reach it.
            postgres = Postgres(tempfile.mkdtemp(prefix="ferry-conformance-pg-"))
            storage = ["--postgres", postgres.start()]
        else:
            storage = ["--db", os.path.join(folder, "server.db")]
        server, url = start_server(options.server, folder, storage)
        os.environ.update({
            "FERRY_CONFORMANCE_URL": url,
            "FERRY_CONFORMANCE_TOKEN": "conformance-one",
            "FERRY_CONFORMANCE_OTHER_TOKEN": "conformance-two",
            "FERRY_CONFORMANCE_SKIP": ",".join(KNOWN_DEVIATIONS),
        })
        for name, reason in KNOWN_DEVIATIONS.items():
            print("known deviation, skipped: %s: %s" % (name, reason))
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import conformance_test  # reads the settings above

        suite = unittest.defaultTestLoader.loadTestsFromModule(conformance_test)
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
        failed = len(result.failures) + len(result.errors)
        print("conformance (%s): %d passed, %d failed, %d skipped" % (
            options.backend, result.testsRun - failed - len(result.skipped), failed, len(result.skipped)))
        passed = result.wasSuccessful() and result.testsRun > 0
        # A clean stop (SIGTERM, exit 0) is part of passing: a crash or a
        # sanitizer report in the server fails the run.
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=60)
        server = None
        if status != 0:
            print("ferry-server did not stop cleanly (exit status %d)" % status)
        return 0 if passed and status == 0 else 1
    finally:
        if server is not None:
            server.kill()
            server.wait()
        if postgres is not None:
            postgres.stop()
            shutil.rmtree(postgres.folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
