"""The GIL and threads: blocking calls let other Python threads run, many
threads may share one client, and close ends a waiting sync."""

from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from typing import Iterator

import pytest

from helpers import sync_until_completed

DELAY_SECONDS = 0.4


class SlowProxy(http.server.ThreadingHTTPServer):
    """Forwards to ferry-server after a delay. It runs in a Python thread, so a
    sync through it can only complete if the caller's thread let the GIL go."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        super().__init__(("127.0.0.1", 0), _SlowHandler)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *arguments):  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self._forward(None)

    def do_POST(self) -> None:
        self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def _forward(self, body) -> None:
        time.sleep(DELAY_SECONDS)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.server.upstream + self.path, data=body, headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def slow_proxy(server) -> Iterator[SlowProxy]:
    proxy = SlowProxy(server.endpoint)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_other_python_threads_run_during_a_blocking_sync_now(open_client, slow_proxy):
    client = open_client(endpoint=slow_proxy.endpoint, live_updates=False)
    client.put("notes", "n1", {"x": 1})
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    ticking = threading.Thread(target=ticker)
    ticking.start()
    started = time.monotonic()
    try:
        run = client.sync_now()  # push and pull through the proxy: two delayed requests at least
    finally:
        stop.set()
        ticking.join()
    finished = time.monotonic()
    assert run.outcome == "completed", run
    assert finished - started >= 2 * DELAY_SECONDS
    during = [tick for tick in ticks if started < tick < finished]
    # The ticker ticks every 10 ms; half of that is plenty to show it ran throughout.
    assert len(during) >= (finished - started) / 0.01 / 2


def test_threads_sharing_a_client_all_write(open_client):
    client = open_client()

    def writer(thread_number: int) -> None:
        for index in range(25):
            client.put("readings", f"t{thread_number}-{index:02}", {"thread": thread_number, "index": index})

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(client.scan("readings")) == 100
    assert client.status().pending == 100
    sync_until_completed(client)
    assert client.status().pending == 0


def test_close_ends_a_sync_waiting_in_another_thread_as_cancelled(open_client, slow_proxy):
    client = open_client(endpoint=slow_proxy.endpoint, live_updates=False)
    client.put("notes", "n1", {"x": 1})
    runs = []
    waiting = threading.Thread(target=lambda: runs.append(client.sync_now()))
    waiting.start()
    time.sleep(DELAY_SECONDS / 2)  # the push is at the proxy
    client.close()
    waiting.join(timeout=10)
    assert not waiting.is_alive()
    assert runs[0].outcome == "cancelled"
