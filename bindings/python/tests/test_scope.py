"""Scope and retention against a real ferry-server: upload-only collections
pushed but never pulled back, a pull scope that widens, documents evicted
locally by a call or a rule, and deferrable writes on a metered connection."""

from __future__ import annotations

import pytest

import ferry
from helpers import wait_until


def test_upload_only_readings_never_reach_another_device(open_client):
    a = open_client("a", upload_only=["readings"])
    b = open_client("b", upload_only=("readings",))
    a.put("readings", "r1", {"celsius": 21})
    a.put("notes", "n1", {"t": "x"})
    assert a.sync_now().outcome == "completed"
    assert b.sync_now().outcome == "completed"
    assert b.get("notes", "n1") == {"t": "x"}
    assert b.get("readings", "r1") is None


def test_a_pull_scope_of_notes_leaves_tasks_until_it_widens(open_client):
    writer = open_client("w")
    writer.put("notes", "n1", 1)
    writer.put("tasks", "t1", 2)
    assert writer.sync_now().outcome == "completed"
    reader = open_client("r", pull_collections=["notes"])
    assert reader.sync_now().outcome == "completed"
    assert reader.get("notes", "n1") == 1
    assert reader.get("tasks", "t1") is None
    reader.close()
    reader = open_client("r", pull_collections=["notes", "tasks"])
    assert reader.sync_now().outcome == "completed"
    assert reader.get("tasks", "t1") == 2


def test_scope_options_are_checked(open_client):
    with pytest.raises(TypeError):
        open_client("s1", upload_only="readings")
    with pytest.raises(TypeError):
        open_client("s2", pull_collections=[1])
    with pytest.raises(ferry.InvalidArgumentError):
        open_client("s3", pull_collections=[""])


def test_a_metered_connection_defers_deferrable_writes(open_client):
    # Syncs after each write: the runs Ferry starts itself are the ones a
    # metered connection defers (sync_now asks for everything).
    device = open_client("device", deferrable=["meter"], auto_sync=True)
    other = open_client("other")
    with pytest.raises(TypeError):
        device.set_metered("yes")
    device.set_metered(True)
    device.put("meter", "r1", {"c": 21})
    device.put("notes", "n1", {"v": 1})
    wait_until(lambda: device.status().pending == 1, what="the note to go up and the reading to wait")
    assert [write.key for write in device.pending_mutations()] == ["r1"]
    assert other.sync_now().outcome == "completed"
    assert (other.get("notes", "n1"), other.get("meter", "r1")) == ({"v": 1}, None)

    device.put("meter", "r2", {"c": 22})
    device.set_metered(False)
    wait_until(lambda: device.status().pending == 0, what="the deferred readings to go up")
    assert other.sync_now().outcome == "completed"
    assert (other.get("meter", "r1"), other.get("meter", "r2")) == ({"c": 21}, {"c": 22})
    with pytest.raises(TypeError):
        open_client("bad", deferrable="meter")


def test_evict_drops_synced_documents_here_and_keeps_pending_ones(open_client):
    client = open_client("e")
    changes = []
    client.subscribe(changes.append)
    for key in ("a", "b", "c"):
        client.put("notes", key, key)
    assert client.sync_now().pushed == 3
    client.put("notes", "b", "again")  # pending: stays
    assert client.evict("notes", ["a", "b"]) == 1
    assert client.get("notes", "a") is None
    assert client.get("notes", "b") == "again"
    assert client.evict("notes") == 1  # c; b still pending
    assert [doc.key for doc in client.scan("notes")] == ["b"]
    # Events come from the owner thread after each commit: wait for both.
    def evicted():
        return [doc.key for change in changes if change.evicted for doc in change.documents]

    wait_until(lambda: len(evicted()) >= 2, what="both evictions' change events")
    assert evicted() == ["a", "c"]
    assert client.statistics()["documents_evicted"] == 2
    # The server kept them: another device pulls all three.
    other = open_client("other")
    assert other.sync_now().pulled == 3


def test_a_retention_rule_keeps_the_latest_synced(open_client):
    client = open_client("r", retention={"readings": {"max_count": 2}})
    for index in range(4):
        client.put("readings", f"r{index}", index)
        assert client.sync_now().outcome == "completed"
    assert [doc.key for doc in client.scan("readings")] == ["r2", "r3"]


def test_retention_and_evict_arguments_are_checked(open_client):
    with pytest.raises(TypeError):
        open_client("t1", retention=["readings"])
    with pytest.raises(ValueError):
        open_client("t2", retention={"readings": {"max_days": 3}})
    with pytest.raises(ValueError):
        open_client("t3", retention={"readings": {"max_count": -1}})
    with pytest.raises(ferry.InvalidArgumentError):
        open_client("t4", retention={"readings": {}})
    client = open_client("t5")
    with pytest.raises(TypeError):
        client.evict("notes", "a")
    with pytest.raises(ferry.InvalidArgumentError):
        client.evict("")
