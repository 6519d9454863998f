"""Custom request headers: Client.open(headers=...) sends them with every
request; wrong types are TypeErrors, headers libferry refuses are
InvalidArgumentErrors that never quote a value."""

from __future__ import annotations

import http.server
import threading

import pytest

import ferry


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 503 and keeps its X-API-Key header."""

    seen: list[tuple[str, str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.path.split("?")[0], self.headers.get("X-API-Key", "")))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_headers_go_with_every_request(tmp_path, recorder):
    lines = []
    with ferry.Client.open(
        tmp_path / "a.db",
        recorder,
        auto_sync=False,
        get_token=lambda refresh: "token-alice",
        headers={"X-API-Key": "key-py"},
        log=lambda level, message: lines.append(message),
    ) as client:
        client.put("notes", "a", {"text": "hi"})
        run = client.sync_now()
    assert run.outcome == "failed"
    assert _Recorder.seen and all(key == "key-py" for _, key in _Recorder.seen), _Recorder.seen
    assert not any("key-py" in line for line in lines)


def test_headers_against_ferry_server(tmp_path, server):
    with ferry.Client.open(
        tmp_path / "a.db", server.endpoint, auto_sync=False, get_token=lambda refresh: "token-alice",
        headers={"X-API-Key": "k"},
    ) as client:
        client.put("notes", "a", {"text": "hi"})
        assert client.sync_now().outcome == "completed"


@pytest.mark.parametrize("headers", [["X-API-Key", "k"], {"X-API-Key": 5}, {5: "k"}])
def test_wrong_header_types_are_type_errors(tmp_path, server, headers):
    with pytest.raises(TypeError):
        ferry.Client.open(tmp_path / "a.db", server.endpoint, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"X Key": "v"}, {"X-Key": "secret\r\nX-Evil: 1"}, {"Authorization": "secret"}],
)
def test_refused_headers_name_no_value(tmp_path, server, headers):
    with pytest.raises(ferry.InvalidArgumentError) as raised:
        ferry.Client.open(tmp_path / "a.db", server.endpoint, get_token=lambda refresh: "t", headers=headers)
    assert "secret" not in str(raised.value)


def test_own_authorization_without_a_token_provider(tmp_path, recorder):
    with ferry.Client.open(tmp_path / "a.db", recorder, auto_sync=False, headers={"Authorization": "ApiKey k"}):
        pass
