"""The custom conflict resolver (conflict_resolver=), against a real
ferry-server: in a "custom" collection the resolver sees base, local and
remote and decides: a document goes up as a new write, None deletes,
ferry.DEFER keeps the conflict open for resolve_conflict, and a resolver
that raises or answers what is not JSON keeps the server's document."""

from __future__ import annotations

import math

import pytest

import ferry
from helpers import make_conflict, sync_until_completed

CUSTOM = {"collections": {"notes": "custom"}}


def test_a_merged_document_goes_up_as_a_new_write(open_client):
    seen = []

    def merge(conflict):
        seen.append(conflict)
        return {"v": conflict.local["v"] + conflict.remote["v"]}

    other = open_client("other")
    device = open_client("device", conflicts=CUSTOM, conflict_resolver=merge)
    make_conflict(device, other, "n1")
    [conflict] = seen
    assert isinstance(conflict, ferry.ConflictInput)
    assert (conflict.collection, conflict.key) == ("notes", "n1")
    assert (conflict.base, conflict.local, conflict.remote) == ({"v": 0}, {"v": 2}, {"v": 1})
    assert conflict.local_hlc and conflict.remote_hlc
    assert device.get("notes", "n1") == {"v": 3}
    sync_until_completed(device)
    sync_until_completed(other)
    assert other.get("notes", "n1") == {"v": 3}
    [entry] = device.conflict_log()
    assert (entry.strategy, entry.winner) == ("custom", "new")


def test_none_deletes_the_document_everywhere(open_client):
    other = open_client("other")
    device = open_client("device", conflicts=CUSTOM, conflict_resolver=lambda conflict: None)
    make_conflict(device, other, "n1")
    assert device.get("notes", "n1") is None
    sync_until_completed(device)
    sync_until_completed(other)
    assert other.get("notes", "n1") is None


def test_defer_keeps_the_conflict_open_for_resolve_conflict(open_client):
    other = open_client("other")
    device = open_client("device", conflicts=CUSTOM, conflict_resolver=lambda conflict: ferry.DEFER)
    make_conflict(device, other, "n1")
    [open_conflict] = device.conflicts()
    assert (open_conflict.key, open_conflict.strategy) == ("n1", "custom")
    assert (open_conflict.local, open_conflict.remote) == ({"v": 2}, {"v": 1})
    assert device.get("notes", "n1") == {"v": 1}  # the server's, meanwhile
    device.resolve_conflict("notes", "n1", {"v": 4})
    assert device.conflicts() == []
    sync_until_completed(device)
    sync_until_completed(other)
    assert other.get("notes", "n1") == {"v": 4}


@pytest.mark.parametrize(
    "resolver, why",
    [
        (lambda conflict: 1 / 0, "ZeroDivisionError"),
        (lambda conflict: {"v": math.nan}, "ValueError"),
        (lambda conflict: {"v": object()}, "TypeError"),
    ],
)
def test_a_resolver_that_fails_keeps_the_servers_document(open_client, resolver, why, caplog):
    conflicts = []
    other = open_client("other")
    device = open_client("device", conflicts=CUSTOM, conflict_resolver=resolver)
    device.add_event_listener("sync.conflict", conflicts.append)
    make_conflict(device, other, "n1")
    assert device.get("notes", "n1") == {"v": 1}
    [conflict] = conflicts
    assert conflict.resolution.startswith("custom_failed: conflict_resolver raised " + why), conflict
    assert any("conflict resolver raised" in record.getMessage() for record in caplog.records)
    # Nothing waits: the next run has nothing to push.
    assert sync_until_completed(device).pushed == 0


def test_custom_needs_a_resolver_and_a_resolver_must_be_callable(open_client):
    with pytest.raises(ferry.InvalidArgumentError):
        open_client("device", conflicts=CUSTOM)
    with pytest.raises(TypeError, match="conflict_resolver must be callable"):
        open_client("device", conflicts=CUSTOM, conflict_resolver="merge")
