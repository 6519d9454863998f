"""Sync against a real ferry-server: offline writes, convergence, background
sync, connectivity, failed mutations, history and statistics."""

from __future__ import annotations

import os
import time

import pytest

import ferry
from conftest import LONG_TOKEN
from helpers import sync_until_completed, wait_until


def test_writes_made_while_the_server_is_down_are_pushed_when_it_returns(open_client, server):
    writer = open_client("writer")
    server.halt()
    for index in range(20):
        writer.put("readings", f"r{index:02}", {"value": index})
    run = writer.sync_now()
    assert run.outcome == "failed"
    assert writer.status().state == "offline"
    assert writer.status().pending == 20

    server.start()
    run = sync_until_completed(writer)
    assert writer.status().pending == 0
    assert writer.status().state == "idle"

    reader = open_client("reader")
    sync_until_completed(reader)
    assert len(reader.scan("readings")) == 20
    assert reader.get("readings", "r07") == {"value": 7}


def test_two_clients_converge(open_client):
    first = open_client("first")
    second = open_client("second")
    first.put("notes", "from-first", {"by": "first"})
    first.put("notes", "shared", {"title": "draft"})
    second.put("notes", "from-second", {"by": "second"})
    sync_until_completed(first)
    sync_until_completed(second)
    second.patch("notes", "shared", {"done": True})
    sync_until_completed(second)
    sync_until_completed(first)
    assert first.scan("notes") == second.scan("notes")
    assert first.get("notes", "shared") == {"title": "draft", "done": True}
    assert [document.key for document in first.scan("notes")] == ["from-first", "from-second", "shared"]


def test_live_updates_bring_another_clients_write_without_a_call(open_client):
    listener = open_client("listener", auto_sync=True)
    sync_until_completed(listener)
    remote_changes = []
    listener.subscribe(lambda change: change.remote and remote_changes.append(change))
    writer = open_client("writer")
    writer.put("notes", "live", {"hello": "world"})
    sync_until_completed(writer)
    # The change event comes from the owner thread after the commit, so a read
    # can see the document before the listener has run: wait for the event.
    live = ferry.DocumentId("notes", "live")
    wait_until(lambda: any(live in change.documents for change in remote_changes), what="the live update's change event")
    assert listener.get("notes", "live") == {"hello": "world"}


def test_background_sync_runs_on_its_interval(open_client):
    client = open_client()
    client.put("notes", "n1", {"x": 1})
    client.start_background_sync(100)
    wait_until(lambda: client.status().pending == 0, what="the background sync")
    runs = wait_until(lambda: [run for run in client.history() if run.reason == "interval"], what="interval runs")
    assert runs[0].outcome == "completed"
    client.stop_background_sync()
    settled = len(client.history())
    client.put("notes", "n2", {"x": 2})  # nothing syncs it now: auto_sync is off
    time.sleep(0.5)
    assert len(client.history()) == settled
    assert client.status().pending == 1


def test_interval_option_at_open_syncs_in_the_background(open_client):
    client = open_client(interval_ms=100)
    client.put("notes", "n1", {"x": 1})
    wait_until(lambda: client.status().pending == 0, what="the interval sync")


def test_auto_sync_pushes_soon_after_a_write(open_client):
    client = open_client(auto_sync=True)
    client.put("notes", "n1", {"x": 1})
    wait_until(lambda: client.status().pending == 0, what="the local-write sync")
    # The write's sync, or the app-start run it joined: never one asked for.
    assert sum(run.pushed for run in client.history()) == 1
    assert all(run.reason != "manual" for run in client.history())


def test_offline_holds_writes_and_coming_online_syncs_at_once(open_client):
    client = open_client()
    completed = []
    client.add_event_listener("sync.completed", completed.append)
    client.set_online(False)
    client.put("notes", "n1", {"x": 1})
    run = client.sync_now()
    assert (run.outcome, run.error) == ("failed", "unavailable: offline")
    assert client.status().state == "offline"
    assert client.status().pending == 1
    client.set_online(True)
    wait_until(lambda: completed, what="the sync on coming online")
    assert completed[0].reason == "online"
    assert client.status().pending == 0


def test_cancel_leaves_writes_pending(open_client, server):
    client = open_client()
    server.halt()
    client.put("notes", "n1", {"x": 1})
    client.sync_now()
    client.cancel()
    assert client.status().pending == 1
    server.start()
    sync_until_completed(client)
    assert client.status().pending == 0


@pytest.mark.parametrize("server_arguments", [["--max-body-bytes", "4096"]])
def test_a_rejected_write_is_a_failed_mutation_to_retry_or_discard(open_client):
    client = open_client(gzip_above_bytes=0)
    rejected = []
    client.add_event_listener("mutation.rejected", rejected.append)
    client.put("docs", "small", {"n": 1})
    client.put("docs", "huge", {"blob": os.urandom(6000).hex()})  # over the server's body limit
    client.put("docs", "after", {"n": 2})
    run = sync_until_completed(client)
    assert run.rejected == 1
    assert client.status().failed == 1
    [failed] = client.failed_mutations()
    assert (failed.collection, failed.key, failed.op) == ("docs", "huge", "put")
    assert failed.attempts >= 1
    assert "413" in failed.error
    assert rejected and rejected[0].mutation.key == "huge"
    assert client.get("docs", "after") == {"n": 2}  # the queue behind it was not blocked

    new_seq = client.retry_failed_mutation(failed.seq)
    assert new_seq > failed.seq
    assert client.status().pending == 1 and client.status().failed == 0
    sync_until_completed(client)
    [again] = client.failed_mutations()
    assert again.key == "huge"

    client.discard_failed_mutation(again.seq)
    assert client.failed_mutations() == []
    assert client.status().failed == 0
    with pytest.raises(ferry.NotFoundError):
        client.discard_failed_mutation(again.seq)


def test_history_and_statistics_record_each_run(open_client, server):
    client = open_client()
    client.put("notes", "n1", {"x": 1})
    client.put("notes", "n2", {"x": 2})
    first = sync_until_completed(client)
    server.halt()
    client.put("notes", "n3", {"x": 3})
    failed = client.sync_now()
    assert failed.outcome == "failed"

    history = client.history()
    assert [run.id for run in history[:2]] == [failed.id, first.id]  # newest first
    assert history[1].pushed == 2
    assert len(client.history(1)) == 1
    statistics = client.statistics()
    assert statistics["runs_started"] >= 2
    assert statistics["runs_completed"] >= 1
    assert statistics["runs_failed"] >= 1
    assert statistics["mutations_pushed"] == 2
    assert statistics["bytes_sent"] > 0


def test_the_token_provider_is_asked_again_with_refresh_after_a_refusal(open_client):
    asked = []

    def get_token(refresh: bool) -> str:
        asked.append(refresh)
        return "token-alice" if refresh else "expired-token"

    client = open_client(get_token=get_token)
    client.put("notes", "n1", {"x": 1})
    sync_until_completed(client)
    assert asked[:2] == [False, True]


def test_a_token_longer_than_the_first_buffer_is_sent_whole(open_client):
    client = open_client(token=LONG_TOKEN)
    client.put("notes", "n1", {"x": 1})
    sync_until_completed(client)
    assert client.status().pending == 0


def test_a_refused_token_is_auth_error_and_writes_stay(open_client):
    client = open_client(token="nobody-has-this")
    client.put("notes", "n1", {"x": 1})
    run = client.sync_now()
    assert run.outcome == "failed"
    assert "unauthenticated" in run.error
    assert client.status().state == "auth_error"
    assert client.status().pending == 1


def test_network_changed_finds_a_returned_server_and_pushes(open_client, server):
    client = open_client("probe")
    server.halt()
    client.put("notes", "a", {"n": 1})
    assert client.sync_now().outcome == "failed"
    assert client.status().state == "offline"
    client.network_changed()  # server still away: a probe, no answer, nothing lost
    assert client.status().pending == 1
    server.start()
    client.network_changed()
    wait_until(lambda: client.status().pending == 0, timeout=5, what="the write to be pushed")
    history = client.history(5)
    assert any(run.outcome == "completed" and run.pushed == 1 for run in history)
