"""Fixtures: a real ferry-server process on loopback and clients on real SQLite files.

FERRY_SERVER_BINARY names the ferry-server executable (scripts/test-python.sh
sets it). The server runs as in web/test/helpers.mjs: a tokens file, its own
database, port 0 (it prints the port it chose), --quiet.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

import ferry

TOKEN = "token-alice"
# Longer than the first buffer the C API offers a token provider (256 bytes).
LONG_TOKEN = "token-carol-" + "c" * 1000
TOKENS = f"token-alice alice\ntoken-bob bob\n{LONG_TOKEN} carol\n"
_LISTENING = re.compile(r"listening on (http\S+)")


def _die_with_parent() -> None:
    """In the child before exec: the server gets SIGTERM when pytest dies, even
    when a timeout ends pytest with os._exit and no fixture teardown runs."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class FerryServer:
    """One ferry-server process; halt() takes it off the network, start() brings
    it back on the same port with the same data."""

    def __init__(self, directory: Path, extra_arguments: list[str]) -> None:
        binary = os.environ.get("FERRY_SERVER_BINARY")
        if not binary:
            pytest.fail("FERRY_SERVER_BINARY must name the ferry-server executable")
        self._binary = binary
        self._directory = directory
        self._extra_arguments = extra_arguments
        (directory / "tokens.txt").write_text(TOKENS)
        self._process: Optional[subprocess.Popen[str]] = None
        self.endpoint = self._spawn(0)
        self.port = int(self.endpoint.rsplit(":", 1)[1])

    def _spawn(self, port: int) -> str:
        self._process = subprocess.Popen(
            [
                self._binary,
                "--tokens", str(self._directory / "tokens.txt"),
                "--db", str(self._directory / "server.db"),
                "--port", str(port),
                "--quiet",
                *self._extra_arguments,
            ],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent,
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:
            match = _LISTENING.search(line)
            if match:
                # Keep draining stdout so that the server never blocks on a full pipe.
                threading.Thread(target=self._process.stdout.read, daemon=True).start()
                return match.group(1)
        raise RuntimeError(f"ferry-server exited with {self._process.wait()} before listening")

    def halt(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def start(self) -> None:
        self._spawn(self.port)


@pytest.fixture
def server_arguments() -> list[str]:
    """Extra ferry-server arguments; a test overrides it with parametrize or a fixture."""
    return []


@pytest.fixture
def server(tmp_path: Path, server_arguments: list[str]) -> Iterator[FerryServer]:
    directory = tmp_path / "server"
    directory.mkdir()
    running = FerryServer(directory, server_arguments)
    yield running
    running.halt()


OpenClient = Callable[..., ferry.Client]


@pytest.fixture
def open_client(tmp_path: Path, server: FerryServer) -> Iterator[OpenClient]:
    """open_client(name, **options): a client on tmp_path/name.db against the
    server, syncing only when told unless the options say otherwise; closed at
    the end of the test."""
    clients: list[ferry.Client] = []

    def opener(name: str = "a", token: str = TOKEN, **options: Any) -> ferry.Client:
        options.setdefault("auto_sync", False)
        options.setdefault("request_timeout_ms", 10_000)
        options.setdefault("get_token", lambda refresh: token)
        options.setdefault("endpoint", server.endpoint)
        client = ferry.Client.open(tmp_path / f"{name}.db", **options)
        clients.append(client)
        return client

    yield opener
    for client in clients:
        client.close()
