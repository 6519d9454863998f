"""Listeners, the token provider and the log hook: typed details, the owner
thread, removal, and callbacks that raise or call back into the client."""

from __future__ import annotations

import logging
import threading
import time

import ferry
from conftest import TOKEN
from helpers import sync_until_completed, wait_until


def test_a_local_write_reports_change_and_status(open_client):
    client = open_client()
    events = []
    client.add_event_listener("change", lambda change: events.append(("change", change)))
    client.add_event_listener("status", lambda status: events.append(("status", status)))
    client.put("notes", "n1", {"x": 1})
    # Delivered on the owner thread, soon after put returned.
    wait_until(lambda: ("change", ferry.Change([ferry.DocumentId("notes", "n1")], remote=False)) in events)
    wait_until(lambda: [detail for kind, detail in events if kind == "status" and detail.pending == 1])


def test_a_run_reports_started_progress_and_completed(open_client):
    client = open_client()
    seen = []
    for event_type in ("sync.started", "sync.progress", "sync.completed"):
        client.add_event_listener(event_type, lambda detail, kind=event_type: seen.append((kind, detail)))
    client.put("notes", "n1", {"x": 1})
    run = sync_until_completed(client)
    # sync_now may return before the owner thread has delivered the run's last event.
    wait_until(lambda: ("sync.completed", run) in seen)
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "sync.started" and kinds[-1] == "sync.completed"
    assert "sync.progress" in kinds
    started = seen[0][1]
    assert isinstance(started, ferry.SyncStarted) and started.run_id == run.id and started.reason == "manual"
    assert seen[-1][1] == run


def test_pull_progress_estimates_a_total_from_what_the_server_says_remains(open_client):
    writer = open_client("writer")
    writer.write([{"op": "put", "collection": "notes", "key": f"n{i}", "value": i} for i in range(1500)])
    assert writer.sync_now().pushed == 1500
    reader = open_client("reader")
    progress = []
    reader.add_event_listener("sync.progress", progress.append)
    run = reader.sync_now()
    assert run.pulled == 1500
    wait_until(lambda: [p for p in progress if p.phase == "pull" and p.pulled == 1500])
    pulled_of_total = [(p.pulled, p.pull_total) for p in progress if p.phase == "pull"]
    # Pages of 1000 (the default). ferry-server's "remaining" is exact here
    # (no document written twice); the last page ends the estimate at what
    # was pulled.
    assert pulled_of_total == [(1000, 1500), (1500, 1500)]


def test_listeners_run_on_the_owner_thread(open_client):
    client = open_client()
    threads = []
    client.subscribe(lambda change: threads.append(threading.get_ident()))
    client.put("notes", "n1", {"x": 1})
    wait_until(lambda: threads)
    assert threading.get_ident() not in threads


def test_removed_listeners_hear_nothing_more(open_client):
    client = open_client()
    changes, statuses = [], []
    unsubscribe = client.subscribe(changes.append)
    client.add_event_listener("status", statuses.append)
    client.put("notes", "n1", {"x": 1})
    wait_until(lambda: changes and statuses)
    unsubscribe()
    client.remove_event_listener("status", statuses.append)
    heard = (len(changes), len(statuses))
    client.put("notes", "n2", {"x": 2})
    assert (len(changes), len(statuses)) == heard
    unsubscribe()  # twice: harmless
    client.remove_event_listener("status", print)  # never added: ignored


def test_the_same_listener_added_twice_is_called_once(open_client):
    client = open_client()
    changes = []
    remove = client.add_event_listener("change", changes.append)
    client.add_event_listener("change", changes.append)
    client.put("notes", "n1", {"x": 1})
    wait_until(lambda: changes)
    client.sync_now()  # a barrier: the owner thread has delivered what came before
    assert len(changes) == 1
    remove()
    client.put("notes", "n2", {"x": 1})
    client.sync_now()
    assert len(changes) == 1


def test_a_listener_that_raises_is_logged_and_the_others_still_run(open_client, caplog):
    client = open_client()
    heard = []

    def broken(change):
        raise RuntimeError("listener bug")

    client.subscribe(broken)
    client.subscribe(heard.append)
    with caplog.at_level(logging.ERROR, logger="ferry"):
        client.put("notes", "n1", {"x": 1})
        client.put("notes", "n2", {"x": 2})
        wait_until(lambda: len(heard) == 2)
    assert any("listener bug" in (record.exc_text or str(record.exc_info)) for record in caplog.records)
    assert client.get("notes", "n2") == {"x": 2}  # the client goes on


def test_a_listener_may_call_the_client_but_not_block_on_it(open_client):
    client = open_client()
    outcomes = []

    def listener(change):
        outcomes.append(client.get("notes", "n1"))
        for blocking in (client.sync_now, client.close):
            try:
                blocking()
            except ferry.WrongThreadError as error:
                outcomes.append(error.code)

    client.subscribe(listener)
    client.put("notes", "n1", {"x": 1})
    wait_until(lambda: len(outcomes) == 3)
    assert outcomes == [{"x": 1}, "wrong_thread", "wrong_thread"]
    assert not client.closed


def test_a_token_provider_that_raises_is_logged_without_the_token(open_client, caplog):
    lines = []

    def get_token(refresh):
        raise RuntimeError(f"vault down, last token was {TOKEN}")

    client = open_client(get_token=get_token, log=lambda level, message: lines.append((level, message)))
    client.put("notes", "n1", {"x": 1})
    with caplog.at_level(logging.ERROR, logger="ferry"):
        run = client.sync_now()
    assert run.outcome == "failed"
    assert "the token provider raised RuntimeError" in run.error
    assert client.status().state == "auth_error"
    assert client.status().pending == 1
    assert any("token provider raised RuntimeError" in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text
    assert all(TOKEN not in message for _, message in lines)


def test_a_token_provider_returning_a_wrong_type_fails_the_run(open_client, caplog):
    client = open_client(get_token=lambda refresh: 12345)
    client.put("notes", "n1", {"x": 1})
    with caplog.at_level(logging.ERROR, logger="ferry"):
        assert client.sync_now().outcome == "failed"
    assert "TypeError" in caplog.text
    assert client.status().state == "auth_error"


def test_a_token_provider_that_recovers_lets_the_writes_go(open_client):
    vault = {"down": True}

    def get_token(refresh):
        if vault["down"]:
            raise RuntimeError("vault down")
        return TOKEN

    client = open_client(get_token=get_token)
    client.put("notes", "n1", {"x": 1})
    assert client.sync_now().outcome == "failed"
    vault["down"] = False
    assert client.sync_now().outcome == "completed"
    assert client.status().pending == 0


def test_the_log_hook_gets_logging_levels(open_client, server):
    lines = []
    client = open_client(log=lambda level, message: lines.append((level, message)))
    server.halt()
    client.put("notes", "n1", {"x": 1})
    client.sync_now()
    wait_until(lambda: lines, what="a log line")
    assert all(level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR) for level, _ in lines)
    assert all(isinstance(message, str) and message for _, message in lines)


def test_a_log_hook_that_raises_does_not_stop_the_client(open_client, server, caplog):
    def broken(level, message):
        raise ValueError("log bug")

    client = open_client(log=broken)
    server.halt()
    client.put("notes", "n1", {"x": 1})
    with caplog.at_level(logging.ERROR, logger="ferry"):
        client.sync_now()
    server.start()
    sync_until_completed(client)
    assert client.status().pending == 0


def test_close_from_a_listener_while_another_thread_closes_returns(open_client):
    client = open_client()
    listener_started = threading.Event()
    main_is_closing = threading.Event()
    listener_returned = []

    def listener(change):
        listener_started.set()
        main_is_closing.wait(5)
        time.sleep(0.2)  # the main thread is inside close(), waiting for this listener
        client.close()  # must return at once, not wait for the close waiting for it
        listener_returned.append(True)

    client.subscribe(listener)
    client.put("notes", "n1", {"x": 1})
    assert listener_started.wait(10)
    main_is_closing.set()
    client.close()
    assert listener_returned == [True]
    assert client.closed
