"""The typed records Ferry reports: status, runs, mutations and event details.

The C API reports them as JSON with camelCase keys (platform/src/json_forms.cc);
here they become frozen dataclasses with snake_case fields. Documents inside
them (a mutation's value, the server's document in a conflict) stay the JSON
values they are: dict, list, str, int, float, bool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Union

Json = Union[None, bool, int, float, str, List["Json"], Dict[str, "Json"]]
"""A JSON value as the json module reads it."""

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """runsStarted -> runs_started."""
    return _CAMEL_BOUNDARY.sub(r"_\1", name).lower()


@dataclass(frozen=True)
class SyncStatus:
    """The sync state; ``state`` is never_synced, idle, syncing, offline, error or auth_error."""

    state: str
    pending: int
    failed: int
    last_error: str
    last_synced_at: Optional[int]  # wall time, ms since the epoch
    next_retry_at: Optional[int]

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> SyncStatus:
        return cls(
            state=json["state"],
            pending=json["pending"],
            failed=json["failed"],
            last_error=json.get("lastError", ""),
            last_synced_at=json.get("lastSyncedAt"),
            next_retry_at=json.get("nextRetryAt"),
        )


@dataclass(frozen=True)
class SyncRun:
    """One sync run; ``outcome`` is completed, failed or cancelled."""

    id: int
    reason: str
    started_at: int
    finished_at: int
    outcome: str
    pushed: int
    pulled: int
    conflicts: int
    rejected: int
    error: str
    direction: str = "both"  # push, pull or both

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> SyncRun:
        return cls(
            id=json["id"],
            reason=json["reason"],
            started_at=json["startedAt"],
            finished_at=json["finishedAt"],
            outcome=json["outcome"],
            pushed=json["pushed"],
            pulled=json["pulled"],
            conflicts=json["conflicts"],
            rejected=json["rejected"],
            error=json.get("error", ""),
            direction=json.get("direction", "both"),
        )


@dataclass(frozen=True)
class Mutation:
    """A local write as the outbox keeps it; ``value`` is None for a delete."""

    seq: int
    op: str
    collection: str
    key: str
    base_version: int
    hlc: str
    value: Json

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> Mutation:
        return cls(**_mutation_fields(json))


def _mutation_fields(json: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": json["seq"],
        "op": json["op"],
        "collection": json["collection"],
        "key": json["key"],
        "base_version": json["baseVersion"],
        "hlc": json["hlc"],
        "value": json.get("value"),
    }


@dataclass(frozen=True)
class FailedMutation(Mutation):
    """A write the server rejected, kept until retried or discarded."""

    error: str
    attempts: int

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> FailedMutation:
        return cls(**_mutation_fields(json), error=json["error"], attempts=json["attempts"])


@dataclass(frozen=True)
class PendingMutation:
    """A write waiting to be pushed, as ``pending_mutations`` lists it."""

    seq: int
    op: str
    collection: str
    key: str
    attempts: int
    last_attempt_at: Optional[int]  # ms since the epoch; None before the first attempt
    last_error: Optional[str]  # the last failed push's error; None while none has

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> PendingMutation:
        return cls(
            seq=json["seq"],
            op=json["op"],
            collection=json["collection"],
            key=json["key"],
            attempts=json["attempts"],
            last_attempt_at=json["lastAttemptAt"],
            last_error=json["lastError"],
        )


@dataclass(frozen=True)
class ConflictLogEntry:
    """A conflict resolution, as ``conflict_log`` lists it."""

    id: int
    at: int  # ms since the epoch
    collection: str
    key: str
    strategy: str  # serverWins, clientWins, lastWriteWins, merge, custom, manual
    winner: str  # "server", "local", or "new" (a merged or custom value)
    resolution: str  # as in the conflict event, e.g. "merged"
    run_id: int
    server_version: int  # the server's version the local write met

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> ConflictLogEntry:
        return cls(
            id=json["id"],
            at=json["at"],
            collection=json["collection"],
            key=json["key"],
            strategy=json["strategy"],
            winner=json["winner"],
            resolution=json["resolution"],
            run_id=json["runId"],
            server_version=json["serverVersion"],
        )


@dataclass(frozen=True)
class ConflictInput:
    """What the conflict_resolver option decides: the server refused a
    write because the document changed meanwhile. None stands for an absent
    (deleted) document."""

    collection: str
    key: str
    base: Json  # the server's document the local writes were made against
    local: Json  # the local view
    remote: Json  # the server's document now
    local_hlc: str  # the newest local write's stamp; stamps sort as text
    remote_hlc: str  # the server's write's stamp

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> ConflictInput:
        return cls(**ConflictInput._fields_of(json))

    @staticmethod
    def _fields_of(json: dict[str, Any]) -> dict[str, Any]:
        return {
            "collection": json["collection"],
            "key": json["key"],
            "base": json["base"],
            "local": json["local"],
            "remote": json["remote"],
            "local_hlc": json["localHlc"],
            "remote_hlc": json["remoteHlc"],
        }


@dataclass(frozen=True)
class OpenConflict(ConflictInput):
    """A conflict kept for a person to resolve, as ``conflicts`` lists it
    (strategy "manual", or a custom resolver that deferred): what a
    resolver would have seen, ``local`` being the local view the conflict
    set aside and ``remote`` the server's document as this client knows it
    now, and when and how it was met."""

    strategy: str  # "manual" or "custom"
    at: int  # ms since the epoch, when the conflict was met
    run_id: int
    server_version: int  # of ``remote``

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> OpenConflict:
        return cls(
            **ConflictInput._fields_of(json),
            strategy=json["strategy"],
            at=json["at"],
            run_id=json["runId"],
            server_version=json["serverVersion"],
        )


@dataclass(frozen=True)
class StoredDocument:
    """A document as ``scan`` returns it."""

    key: str
    value: Json


@dataclass(frozen=True)
class QueryPage:
    """A page of ``query``: its documents, and the cursor of the next page
    (``next``, passed as ``after``; None after the last)."""

    documents: list[StoredDocument]
    next: Optional[str]


@dataclass(frozen=True)
class LiveQueryPage:
    """A live query's page (``subscribe_query``): the whole page, and the
    keys that differ from the page before (the first: every one added).
    ``moved``: in both, among the fewest whose moving turns the old order
    into this one. ``query``: the live query's id."""

    query: int
    documents: list[StoredDocument]
    next: Optional[str]
    added: list[str]
    removed: list[str]
    changed: list[str]
    moved: list[str]

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> LiveQueryPage:
        documents = [StoredDocument(item["key"], item["value"]) for item in json["documents"]]
        return cls(
            query=json["query"],
            documents=documents,
            next=json["next"],
            added=json["added"],
            removed=json["removed"],
            changed=json["changed"],
            moved=json["moved"],
        )


@dataclass(frozen=True)
class DocumentId:
    collection: str
    key: str


@dataclass(frozen=True)
class Change:
    """Documents whose local view changed; ``remote`` when a pull or a server
    answer did it, ``evicted`` when local retention dropped them (they stay on
    the server)."""

    documents: list[DocumentId]
    remote: bool
    evicted: bool = False

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> Change:
        documents = [DocumentId(d["collection"], d["key"]) for d in json["documents"]]
        return cls(documents=documents, remote=json["remote"], evicted=json.get("evicted", False))


@dataclass(frozen=True)
class PulledChange:
    """A pulled change with a document, as the after_pull hook sees it."""

    collection: str
    key: str
    value: Json


class _Defer:
    """The type of DEFER, for its repr."""

    def __repr__(self) -> str:
        return "ferry.DEFER"


DEFER = _Defer()
"""What a conflict_resolver returns to keep the conflict open, as the
strategy "manual" does: conflicts() lists it and resolve_conflict() settles it."""


@dataclass(frozen=True)
class SyncStarted:
    run_id: int
    reason: str
    direction: str = "both"  # push, pull or both

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> SyncStarted:
        return cls(
            run_id=json["runId"], reason=json["reason"], direction=json.get("direction", "both")
        )


@dataclass(frozen=True)
class SyncProgress:
    """Progress within a run; ``phase`` is push or pull."""

    run_id: int
    phase: str
    pushed: int
    push_done: int
    push_total: int
    pulled: int
    pull_total: int

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> SyncProgress:
        return cls(
            run_id=json["runId"],
            phase=json["phase"],
            pushed=json["pushed"],
            push_done=json["pushDone"],
            push_total=json["pushTotal"],
            pulled=json["pulled"],
            pull_total=json["pullTotal"],
        )


@dataclass(frozen=True)
class Conflict:
    """The server refused a local write and the collection's strategy decided.

    ``server`` is {"version", "deleted", "value"?, "hlc"?} and ``resolved``
    {"deleted", "value"?}, as in the web package.
    """

    run_id: int
    local: Mutation
    server: dict[str, Any]
    resolution: str
    resolved: dict[str, Any]

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> Conflict:
        return cls(
            run_id=json["runId"],
            local=Mutation.from_json(json["local"]),
            server=json["server"],
            resolution=json["resolution"],
            resolved=json["resolved"],
        )


@dataclass(frozen=True)
class MutationRejected:
    """The server refused a write; it is now a failed mutation."""

    mutation: Mutation
    error: str

    @classmethod
    def from_json(cls, json: dict[str, Any]) -> MutationRejected:
        return cls(mutation=Mutation.from_json(json["mutation"]), error=json["error"])


def statistics_from_json(json: dict[str, Any]) -> dict[str, int]:
    """Counters by snake_case name (runs_started, mutations_pushed, ...)."""
    return {snake_case(name): value for name, value in json.items()}


# What a listener of each event type receives (see EVENT_TYPES).
_DETAIL_READERS = {
    "sync.started": SyncStarted.from_json,
    "sync.progress": SyncProgress.from_json,
    "sync.completed": lambda json: SyncRun.from_json(json["run"]),
    "sync.failed": lambda json: SyncRun.from_json(json["run"]),
    "sync.conflict": Conflict.from_json,
    "mutation.rejected": MutationRejected.from_json,
    "status": lambda json: SyncStatus.from_json(json["status"]),
    "change": Change.from_json,
    "query": LiveQueryPage.from_json,
}

EVENT_TYPES = frozenset(_DETAIL_READERS)
"""Every event type: sync.started, sync.progress, sync.completed, sync.failed,
sync.conflict, mutation.rejected, status, change, query (a live query's page)."""


def event_detail(event_type: str, json: dict[str, Any]) -> Any:
    """The detail a listener of ``event_type`` receives for an event's JSON."""
    return _DETAIL_READERS[event_type](json)
