"""Queue control against a real ferry-server: the pending listing, the cap on
attempts while the server is down, dead letters discarded by age, and
clearing the history."""

from __future__ import annotations

import time

import pytest

import ferry
from helpers import sync_until_completed, wait_until


def test_pending_mutations_are_listed_in_pages(open_client):
    client = open_client()
    for index in range(5):
        client.put("notes", f"n{index}", {"index": index})
    client.remove("notes", "gone")
    first = client.pending_mutations(limit=2)
    assert [m.key for m in first] == ["n0", "n1"]
    assert all(isinstance(m, ferry.PendingMutation) for m in first)
    assert first[0].op == "put" and first[0].collection == "notes"
    assert first[0].attempts == 0 and first[0].last_attempt_at is None and first[0].last_error is None
    second = client.pending_mutations(after_seq=first[-1].seq, limit=2)
    assert [m.key for m in second] == ["n2", "n3"]
    rest = client.pending_mutations(after_seq=second[-1].seq)
    assert [(m.key, m.op) for m in rest] == [("n4", "put"), ("gone", "delete")]
    assert client.pending_mutations(after_seq=rest[-1].seq) == []
    assert len(client.pending_mutations()) == 6


def test_pending_mutations_refuse_wrong_arguments(open_client):
    client = open_client()
    with pytest.raises(TypeError):
        client.pending_mutations(after_seq="1")
    with pytest.raises(ValueError):
        client.pending_mutations(limit=-1)
    with pytest.raises(TypeError):
        client.clear_history(keep_latest=1)
    with pytest.raises(ValueError):
        open_client("capped", max_attempts=0)
    with pytest.raises(ValueError):
        open_client("aged", dead_letter_max_age_ms=0)


def test_attempts_and_last_error_grow_until_the_cap_dead_letters_the_write(open_client, server):
    client = open_client(max_attempts=3)
    rejected = []
    client.add_event_listener("mutation.rejected", rejected.append)
    server.halt()
    client.put("notes", "stuck", {"v": 1})
    assert client.sync_now().outcome == "failed"
    [pending] = client.pending_mutations()
    assert pending.key == "stuck"
    assert pending.attempts >= 1
    assert "network error" in pending.last_error
    assert pending.last_attempt_at is not None
    assert abs(pending.last_attempt_at - time.time() * 1000) < 60_000

    # Each failed push counts (the automatic retry may add some meanwhile).
    def dead_lettered():
        if client.failed_mutations():
            return True
        client.sync_now()
        return False

    wait_until(dead_lettered, what="the write to be dead-lettered")
    [failed] = client.failed_mutations()
    assert failed.key == "stuck" and failed.attempts == 3
    assert "network error" in failed.error
    assert client.pending_mutations() == []
    assert client.status().failed == 1 and client.status().pending == 0
    wait_until(lambda: rejected, what="the mutation.rejected event")
    assert rejected[0].mutation.key == "stuck" and "network error" in rejected[0].error

    # Queued again, it starts afresh and reaches the server once it is back.
    client.retry_failed_mutation(failed.seq)
    [again] = client.pending_mutations()
    assert again.attempts == 0 and again.last_error is None
    server.start()
    sync_until_completed(client)
    assert client.pending_mutations() == [] and client.failed_mutations() == []


def test_without_a_cap_writes_wait_through_every_failure(open_client, server):
    client = open_client()
    server.halt()
    client.put("notes", "waiting", {"v": 1})
    for _ in range(4):
        client.sync_now()
    [pending] = client.pending_mutations()
    assert pending.attempts >= 4
    assert client.failed_mutations() == []


def test_dead_letters_older_than_the_maximum_age_are_discarded(open_client, tmp_path):
    client = open_client("aging", endpoint="http://127.0.0.1:9", max_attempts=1, dead_letter_max_age_ms=1500)
    client.put("notes", "doomed", {"v": 1})
    client.sync_now()
    wait_until(client.failed_mutations, what="the dead letter")
    wait_until(lambda: client.failed_mutations() == [], timeout=10, what="the dead letter to be discarded")
    assert client.status().failed == 0


def test_clear_history_keeps_the_latest_run_when_asked(open_client):
    client = open_client()
    for _ in range(3):
        sync_until_completed(client)
    runs = client.history()
    assert len(runs) == 3
    client.clear_history(keep_latest=True)
    assert [run.id for run in client.history()] == [runs[0].id]
    client.clear_history()
    assert client.history() == []
    sync_until_completed(client)
    assert len(client.history()) == 1


def test_a_sync_can_push_only_or_pull_only(open_client):
    writer = open_client("writer")
    reader = open_client("reader")
    writer.put("notes", "theirs", {"v": 1})
    assert writer.sync_now().outcome == "completed"
    reader.put("notes", "mine", {"v": 2})

    pulled = reader.sync_now(direction="pull")
    assert pulled.outcome == "completed" and pulled.direction == "pull"
    assert pulled.pulled == 1 and pulled.pushed == 0
    assert reader.get("notes", "theirs") == {"v": 1}
    assert reader.status().pending == 1, "a pull-only run pushes nothing"

    writer.put("notes", "later", {"v": 3})
    assert writer.sync_now(direction="push").pushed == 1
    pushed = reader.sync_now(direction="push")
    assert pushed.direction == "push" and pushed.pushed == 1 and pushed.pulled == 0
    assert reader.get("notes", "later") is None, "a push-only run pulls nothing"
    assert reader.status().pending == 0
    assert reader.sync_now().direction == "both"
    assert reader.get("notes", "later") == {"v": 3}
    assert [run.direction for run in reader.history(3)] == ["both", "push", "pull"]


def test_a_sync_direction_must_be_push_pull_or_both(open_client):
    client = open_client()
    with pytest.raises(ValueError, match="direction"):
        client.sync_now(direction="up")
    with pytest.raises(TypeError, match="direction"):
        client.sync_now(direction=1)


def test_a_resync_pulls_everything_again_and_keeps_pending_writes(open_client):
    writer = open_client("writer")
    reader = open_client("reader")
    for index in range(3):
        writer.put("notes", f"n{index}", {"index": index})
    writer.sync_now()
    assert reader.sync_now().pulled == 3
    assert reader.sync_now().pulled == 0, "an ordinary pull starts at the cursor"
    reader.put("notes", "local", {"v": 9})
    run = reader.resync()
    assert run.outcome == "completed"
    assert run.pushed == 1 and run.pulled == 4, "everything, from the start"
    assert reader.statistics()["full_resyncs"] == 1
    assert reader.get("notes", "local") == {"v": 9}
    assert reader.get("notes", "n2") == {"index": 2}
