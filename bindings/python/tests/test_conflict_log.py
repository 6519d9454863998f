"""The conflict log against a real ferry-server: each resolution is listed
with its document, strategy and winner, paged by id, bounded by
conflict_log_limit, and cleared on demand."""

from __future__ import annotations

import time

import pytest

import ferry
from helpers import sync_until_completed


def make_conflicts(device, other, collection, keys):
    """`other` writes and syncs each key first; `device`'s writes then meet
    the server's newer versions."""
    for key in keys:
        other.put(collection, key, {"by": "other", "n": 1})
        # A field only the device writes: a merge keeps it whichever
        # stamp wins "by" (two writes in one millisecond order by client id).
        device.put(collection, key, {"by": "device", "mine": True})
    sync_until_completed(other)
    return sync_until_completed(device)


def test_each_resolution_is_logged_with_strategy_and_winner(open_client):
    other = open_client("other")
    device = open_client("device", conflicts={"default": "serverWins", "collections": {"tasks": "merge"}})
    before = int(time.time() * 1000)
    make_conflicts(device, other, "notes", ["n1"])
    run = make_conflicts(device, other, "tasks", ["t1"])

    log = device.conflict_log()
    assert all(isinstance(entry, ferry.ConflictLogEntry) for entry in log)
    assert [(e.collection, e.key, e.strategy, e.winner, e.resolution) for e in log] == [
        ("notes", "n1", "serverWins", "server", "server_wins"),
        ("tasks", "t1", "merge", "new", "merged"),
    ]
    assert log[0].id < log[1].id
    assert log[1].run_id == run.id
    assert log[1].server_version > 0
    assert before <= log[0].at <= int(time.time() * 1000)
    assert other.conflict_log() == []


def test_the_log_pages_keeps_its_limit_and_clears(open_client):
    other = open_client("other")
    device = open_client("device", conflict_log_limit=3)
    make_conflicts(device, other, "notes", [f"k{i}" for i in range(5)])

    log = device.conflict_log()
    assert len(log) == 3
    assert device.conflict_log(after_id=log[0].id, limit=1) == [log[1]]
    device.clear_conflict_log()
    assert device.conflict_log() == []
    make_conflicts(device, other, "notes", ["k9"])
    [entry] = device.conflict_log()
    assert entry.id > log[-1].id and entry.key == "k9"


def test_a_limit_of_zero_records_nothing(open_client):
    other = open_client("other")
    device = open_client("device", conflict_log_limit=0)
    run = make_conflicts(device, other, "notes", ["k1"])
    assert run.conflicts == 1
    assert device.conflict_log() == []


def test_conflict_log_arguments_are_checked(open_client):
    client = open_client()
    with pytest.raises(TypeError):
        client.conflict_log(after_id="1")
    with pytest.raises(ValueError):
        client.conflict_log(limit=-1)
    with pytest.raises(TypeError):
        open_client("other", conflict_log_limit="10")
