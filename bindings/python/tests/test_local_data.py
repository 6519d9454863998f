"""Local data: writes are durable at once, reads see the local view, one client per store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import ferry


def test_put_get_patch_remove_round_trip(open_client):
    client = open_client()
    client.put("notes", "n1", {"title": "Milk", "tags": ["shop"], "count": 2, "ratio": 0.5})
    client.patch("notes", "n1", {"done": True, "ratio": None})
    assert client.get("notes", "n1") == {"title": "Milk", "tags": ["shop"], "count": 2, "done": True}
    client.remove("notes", "n1")
    assert client.get("notes", "n1") is None


def test_any_json_value_but_null_is_a_document(open_client):
    client = open_client()
    for key, value in [("text", "héllo ✓"), ("number", 42), ("list", [1, "two", None]), ("flag", False)]:
        client.put("values", key, value)
        assert client.get("values", key) == value


def test_write_commits_a_batch_atomically(open_client):
    client = open_client()
    client.put("notes", "old", {"n": 0})
    client.write(
        [
            {"op": "put", "collection": "notes", "key": "a", "value": {"n": 1}},
            {"op": "patch", "collection": "notes", "key": "a", "value": {"m": 2}},
            {"op": "delete", "collection": "notes", "key": "old"},
        ]
    )
    assert client.get("notes", "a") == {"n": 1, "m": 2}
    assert client.get("notes", "old") is None
    with pytest.raises(ferry.InvalidArgumentError):
        client.write(
            [
                {"op": "put", "collection": "notes", "key": "b", "value": 1},
                {"op": "put", "collection": "", "key": "c", "value": 1},  # refused: the whole batch is
            ]
        )
    assert client.get("notes", "b") is None


def test_scan_lists_by_prefix_in_key_order_with_a_limit(open_client):
    client = open_client()
    for key in ["b2", "a1", "b1", "c1"]:
        client.put("items", key, {"key": key})
    assert [document.key for document in client.scan("items", "b")] == ["b1", "b2"]
    assert [document.key for document in client.scan("items", limit=3)] == ["a1", "b1", "b2"]
    assert client.scan("items")[0] == ferry.StoredDocument("a1", {"key": "a1"})
    assert client.scan("nothing") == []


def test_writes_and_client_id_survive_reopening(tmp_path: Path, server):
    path = tmp_path / "store.db"
    with ferry.Client.open(path, server.endpoint, auto_sync=False) as client:
        client.put("notes", "n1", {"title": "kept"})
        client_id = client.client_id
    assert client.closed
    with ferry.Client.open(str(path), server.endpoint, auto_sync=False) as reopened:
        assert reopened.client_id == client_id
        assert reopened.get("notes", "n1") == {"title": "kept"}
        assert reopened.status().pending == 1


def test_a_second_open_of_a_store_in_use_is_busy(tmp_path: Path, server):
    path = tmp_path / "store.db"
    with ferry.Client.open(path, server.endpoint, auto_sync=False):
        with pytest.raises(ferry.BusyError) as raised:
            ferry.Client.open(path, server.endpoint, auto_sync=False)
        assert raised.value.code == "busy"
        with pytest.raises(ferry.BusyError):
            ferry.Client.delete_local_data(path)
    # Closed: it opens again.
    with ferry.Client.open(path, server.endpoint, auto_sync=False):
        pass


def test_a_second_open_waits_for_the_store_lock_timeout(tmp_path: Path, server):
    path = tmp_path / "store.db"
    first = ferry.Client.open(path, server.endpoint, auto_sync=False)
    # Busy once the time is up.
    started = time.monotonic()
    with pytest.raises(ferry.BusyError):
        ferry.Client.open(path, server.endpoint, auto_sync=False, store_lock_timeout_ms=200)
    assert time.monotonic() - started >= 0.2
    # Opens once the first closes within it (the wait does not hold the GIL).
    closer = threading.Timer(0.15, first.close)
    closer.start()
    try:
        with ferry.Client.open(path, server.endpoint, auto_sync=False, store_lock_timeout_ms=10_000):
            pass
    finally:
        closer.join()
        first.close()


def test_delete_local_data_removes_the_store_and_its_pending_writes(tmp_path: Path, server):
    path = tmp_path / "store.db"
    with ferry.Client.open(path, server.endpoint, auto_sync=False) as client:
        client.put("notes", "n1", {"title": "gone"})
        old_id = client.client_id
    ferry.Client.delete_local_data(path)
    with ferry.Client.open(path, server.endpoint, auto_sync=False) as fresh:
        assert fresh.get("notes", "n1") is None
        assert fresh.status().pending == 0
        assert fresh.client_id != old_id


def test_close_twice_is_harmless_and_calls_after_close_raise(open_client):
    client = open_client()
    client.close()
    client.close()
    with pytest.raises(ferry.ClientClosedError) as raised:
        client.put("notes", "n1", {"x": 1})
    assert raised.value.code == "invalid_argument"
    with pytest.raises(ferry.ClientClosedError):
        client.status()
