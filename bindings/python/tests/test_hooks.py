"""Hooks, against a real ferry-server: before_push rewrites and refuses
writes, after_pull rewrites and keeps out pulled changes, before_run
postpones runs, and a hook that raises or answers wrongly fails the run and
loses nothing."""

from __future__ import annotations

import logging

import pytest

import ferry
from helpers import sync_until_completed


def test_before_push_and_after_pull_rewrite_refuse_and_keep_out(open_client):
    pushed = []

    def before_push(write):
        pushed.append(write)
        if write.collection == "secrets":
            return {"refuse": "secrets stay on the device"}
        if write.key == "loud":
            return {"value": {"text": write.value["text"].upper()}}
        return None

    def after_pull(change):
        if change.key == "hidden":
            return {"refuse": "not for this device"}
        if change.key == "tagged":
            return {"value": {**change.value, "seen": True}}
        return None

    device = open_client("device", before_push=before_push, after_pull=after_pull)
    other = open_client("other")
    device.put("secrets", "s1", {"pin": 1})
    device.put("notes", "loud", {"text": "hello"})
    run = device.sync_now()
    assert (run.outcome, run.pushed, run.rejected) == ("completed", 1, 1)
    [written] = [write for write in pushed if write.key == "loud"]
    assert isinstance(written, ferry.Mutation)
    assert (written.op, written.collection, written.value) == ("put", "notes", {"text": "hello"})
    [failed] = device.failed_mutations()
    assert (failed.key, failed.error) == ("s1", "secrets stay on the device")
    sync_until_completed(other)
    assert other.get("notes", "loud") == {"text": "HELLO"}
    assert other.get("secrets", "s1") is None

    other.put("notes", "hidden", {"v": 1})
    other.put("notes", "tagged", {"v": 2})
    sync_until_completed(other)
    sync_until_completed(device)
    assert device.get("notes", "hidden") is None
    assert device.get("notes", "tagged") == {"v": 2, "seen": True}


def test_before_run_postpones_until_it_lets_runs_go(open_client):
    asked = []
    foreground = False

    def before_run(reason, direction):
        asked.append((reason, direction))
        return foreground

    client = open_client("a", before_run=before_run)
    client.put("notes", "later", {"v": 1})
    run = client.sync_now("push")
    assert (run.outcome, run.error, run.pushed) == ("cancelled", "postponed", 0)
    assert asked[-1] == ("manual", "push")
    assert client.status().pending == 1
    foreground = True
    run = client.sync_now()
    assert (run.outcome, run.pushed) == ("completed", 1)


@pytest.mark.parametrize(
    "answer, error",
    [
        (lambda write: 1 / 0, "before_push raised ZeroDivisionError"),
        (lambda write: 7, "before_push raised TypeError: before_push must return None"),
        (lambda write: {"value": float("nan")}, "before_push raised ValueError"),
    ],
)
def test_a_hook_that_raises_or_answers_wrongly_fails_the_run(open_client, caplog, answer, error):
    outcome = {"answer": answer}
    client = open_client("a", before_push=lambda write: outcome["answer"](write))
    client.put("notes", "n1", {"v": 1})
    with caplog.at_level(logging.ERROR, logger="ferry"):
        run = client.sync_now()
    assert run.outcome == "failed" and error in run.error, run
    assert "the before_push hook raised" in caplog.text
    assert client.status().pending == 1
    outcome["answer"] = lambda write: None
    run = client.sync_now()
    assert (run.outcome, run.pushed) == ("completed", 1)


def test_hooks_must_be_callable(open_client):
    with pytest.raises(TypeError, match="before_run must be callable"):
        open_client("a", before_run="later")
