"""Scope against a real ferry-server: upload-only collections pushed but
never pulled back, and a pull scope that widens."""

from __future__ import annotations

import pytest

import ferry


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
