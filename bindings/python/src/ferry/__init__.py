"""Ferry for Python: an offline-first sync client over libferry (the C API).

    import ferry

    with ferry.Client.open("notes.db", "http://127.0.0.1:8080", get_token=lambda refresh: "token-alice") as client:
        client.put("notes", "n1", {"title": "Milk"})   # durable at once, online or not
        run = client.sync_now()                        # push and pull; run.outcome says how it went
        print(client.status().pending)

Writes go to a local SQLite store at once and are pushed to ferry-server when
the network allows; the server's changes are pulled back. Callbacks
(listeners, get_token, log) run on the client's owner thread.
"""

from ._library import library as _library
from .client import Client
from .errors import (
    BusyError,
    ClientClosedError,
    FerryError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
    WrongThreadError,
)
from .records import (
    DEFER,
    EVENT_TYPES,
    Change,
    Conflict,
    ConflictInput,
    ConflictLogEntry,
    DocumentId,
    FailedMutation,
    Json,
    LiveQueryPage,
    Mutation,
    MutationRejected,
    OpenConflict,
    PendingMutation,
    PulledChange,
    QueryPage,
    StoredDocument,
    SyncProgress,
    SyncRun,
    SyncStarted,
    SyncStatus,
)

__version__ = "0.1.0"

library_version: str = _library.ferry_version().decode("ascii")
"""The version of the libferry this package loaded."""

__all__ = [
    "BusyError",
    "Change",
    "Client",
    "ClientClosedError",
    "Conflict",
    "ConflictInput",
    "ConflictLogEntry",
    "DEFER",
    "DocumentId",
    "EVENT_TYPES",
    "FailedMutation",
    "FerryError",
    "InvalidArgumentError",
    "Json",
    "LiveQueryPage",
    "Mutation",
    "MutationRejected",
    "NotFoundError",
    "OpenConflict",
    "PendingMutation",
    "PulledChange",
    "QueryPage",
    "StoredDocument",
    "SyncProgress",
    "SyncRun",
    "SyncStarted",
    "SyncStatus",
    "UnavailableError",
    "WrongThreadError",
    "library_version",
]
