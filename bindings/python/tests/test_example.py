"""examples/python/sensor_gateway.py, run briefly against a real ferry-server:
it queues readings, syncs them in the background, keeps queueing while the
server is gone and delivers them as soon as it is back."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import TOKEN
from helpers import sync_until_completed

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "python" / "sensor_gateway.py"


class Daemon:
    """The example as a child process whose output lines are read as they come."""

    def __init__(self, endpoint: str, store: Path) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable, str(EXAMPLE),
                "--endpoint", endpoint,
                "--store", str(store),
                "--sensor", "boiler-1",
                "--reading-every", "0.05",
                "--sync-every", "0.5",
                "--probe-every", "0.2",
                "--report-every", "0.3",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "FERRY_TOKEN": TOKEN},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        pytest.fail(f"the daemon never printed {pattern!r}; it printed:\n" + "\n".join(self.output))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def test_the_gateway_queues_offline_and_delivers_when_the_network_returns(tmp_path, server, open_client):
    daemon = Daemon(server.endpoint, tmp_path / "gateway.db")
    try:
        daemon.wait_for(r"gateway boiler-1 started, client \S+, online")
        daemon.wait_for(r"synced: pushed [1-9]")

        server.halt()
        daemon.wait_for(r"network lost")
        daemon.wait_for(r"pending ([2-9]|\d\d+), failed 0, state offline")

        server.start()
        daemon.wait_for(r"network is back")
        # Delivered at once, not at the next interval.
        daemon.wait_for(r"synced: pushed [1-9]\d*, pulled \d+ \(online\)")
    finally:
        exit_code = daemon.stop()
    assert exit_code == 0
    final = daemon.wait_for(r"stopped: read (\d+), pending (\d+), failed 0")
    read, pending = int(final.group(1)), int(final.group(2))
    assert pending == 0
    assert TOKEN not in "\n".join(daemon.output)

    reader = open_client("reader")
    sync_until_completed(reader)
    readings = reader.scan("readings", "boiler-1-")
    assert len(readings) == read
    assert all(reading.value["sensor"] == "boiler-1" for reading in readings)
