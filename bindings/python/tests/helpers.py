"""Waiting helpers shared by the tests."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

import ferry


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "the condition") -> Any:
    """Polls until condition() is truthy and returns its value, or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def sync_until_completed(client: ferry.Client, timeout: float = 30.0) -> ferry.SyncRun:
    """Syncs until a run completes (a retry after a transient failure is fine)."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.sync_now()
        if run.outcome == "completed" or time.monotonic() > deadline:
            assert run.outcome == "completed", run
            return run
        time.sleep(0.05)


def make_conflict(device: ferry.Client, other: ferry.Client, key: str) -> ferry.SyncRun:
    """Both hold notes/key {"v": 0}; `other` writes {"v": 1} and syncs first,
    then `device`'s {"v": 2} meets it in the run returned."""
    other.put("notes", key, {"v": 0})
    sync_until_completed(other)
    sync_until_completed(device)
    other.put("notes", key, {"v": 1})
    sync_until_completed(other)
    device.put("notes", key, {"v": 2})
    return sync_until_completed(device)
