"""Conflicts a person resolves, against a real ferry-server: in a "manual"
collection a conflict is kept with base, local and remote, the server's
document is shown meanwhile, and resolve_conflict settles it later, even
after a reopen, with a value or a delete that goes up like any write."""

from __future__ import annotations

import pytest

import ferry
from helpers import make_conflict, sync_until_completed

MANUAL = {"collections": {"notes": "manual"}}


def test_a_manual_conflict_is_kept_and_resolved_after_a_reopen(open_client, tmp_path):
    other = open_client("other")
    device = open_client("device", conflicts=MANUAL)
    run = make_conflict(device, other, "n1")

    [conflict] = device.conflicts()
    assert isinstance(conflict, ferry.OpenConflict)
    assert (conflict.collection, conflict.key, conflict.strategy) == ("notes", "n1", "manual")
    assert (conflict.base, conflict.local, conflict.remote) == ({"v": 0}, {"v": 2}, {"v": 1})
    assert conflict.run_id == run.id and conflict.server_version > 0
    assert conflict.local_hlc and conflict.remote_hlc
    assert device.get("notes", "n1") == {"v": 1}
    assert device.conflict_log() == []

    device.close()
    device = open_client("device", conflicts=MANUAL)
    assert device.conflicts() == [conflict]
    device.resolve_conflict("notes", "n1", {"v": 3})
    assert device.conflicts() == []
    assert device.get("notes", "n1") == {"v": 3}
    sync_until_completed(device)
    sync_until_completed(other)
    assert other.get("notes", "n1") == {"v": 3}
    [entry] = device.conflict_log()
    assert (entry.strategy, entry.winner, entry.resolution) == ("manual", "new", "manual")
    with pytest.raises(ferry.NotFoundError):
        device.resolve_conflict("notes", "n1", {"v": 4})


def test_a_delete_resolves_and_goes_up(open_client):
    other = open_client("other")
    device = open_client("device", conflicts=MANUAL)
    make_conflict(device, other, "n1")
    device.resolve_conflict("notes", "n1", None)
    assert device.get("notes", "n1") is None
    sync_until_completed(device)
    sync_until_completed(other)
    assert other.get("notes", "n1") is None


def test_resolve_conflict_arguments_are_checked(open_client):
    other = open_client("other")
    device = open_client("device", conflicts=MANUAL)
    make_conflict(device, other, "n1")
    with pytest.raises(TypeError):
        device.resolve_conflict("notes", 1, {"v": 3})
    with pytest.raises(TypeError):
        device.resolve_conflict("notes", "n1", {1, 2})
    with pytest.raises(ferry.InvalidArgumentError):
        device.resolve_conflict("notes", "n1", float("nan"))
    assert len(device.conflicts()) == 1
