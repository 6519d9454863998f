"""ferry.Client: the Python face of the C API's ferry_client.

Every call is a thin translation: check the arguments (TypeError for a wrong
type), encode them as UTF-8 and JSON, call libferry, decode its JSON. The
sync policy lives in the engine. Every call is thread-safe, and every call
into libferry runs without the GIL (ctypes releases it), so a blocking call
(sync_now, a durable write, close) never stops the other Python threads.

Callbacks (listeners, the token provider, the log hook) run on the client's
owner thread, a thread of libferry's, never on the caller's thread during a
call. From there the client may be called again, except close() and the
blocking sync_now(), which raise WrongThreadError (they would wait for the
very thread running the callback).
"""

from __future__ import annotations

import atexit
import ctypes
import itertools
import json
import os
import threading
from types import TracebackType
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from . import _arguments as arguments
from ._callbacks import ConflictResolver, Hooks, Listeners, LogForwarder, TokenProvider
from ._calls import call, call_for_text, slice_of
from ._library import Handle, Slice, library
from ._options import check_open_options, options_struct
from .errors import ClientClosedError, FerryError, NotFoundError
from .records import (
    EVENT_TYPES,
    Change,
    ConflictInput,
    ConflictLogEntry,
    FailedMutation,
    Json,
    LiveQueryPage,
    Mutation,
    OpenConflict,
    PendingMutation,
    PulledChange,
    QueryPage,
    StoredDocument,
    SyncRun,
    SyncStatus,
    statistics_from_json,
)

PathLike = Union[str, "os.PathLike[str]"]  # a store file

# Clients not closed yet. The C library calls their callbacks until they are
# closed, so they must not be garbage-collected before that, and an
# interpreter that exits with one open closes it first (a callback into a
# finalized interpreter would crash the process).
_open_clients: set[Client] = set()
_open_clients_lock = threading.Lock()


@atexit.register
def _close_open_clients() -> None:
    with _open_clients_lock:
        clients = list(_open_clients)
    for client in clients:
        try:
            client.close()
        except FerryError:
            pass  # exiting anyway; the others must still close


class Client:
    """An open Ferry client on one store (a SQLite file). Open it with
    ``Client.open(...)``, preferably as ``with Client.open(...) as client:``."""

    def __init__(self, handle: Handle, callbacks: list[Any]) -> None:
        """Use Client.open."""
        self._handle = handle
        self._callbacks = callbacks  # the C functions the library may call until close
        self._listeners = Listeners()
        self._live_query_ids = itertools.count(1)
        self._listener_ids: dict[int, int] = {}  # listener token -> the C API's listener id
        self._closed = False
        self._closing = False
        self._close_lock = threading.Lock()
        self._client_id = call_for_text(library.ferry_client_id, handle).decode("utf-8")

    # ---- opening and closing

    @classmethod
    def open(
        cls,
        path: PathLike,
        endpoint: str,
        *,
        get_token: Optional[Callable[[bool], Optional[str]]] = None,
        auto_sync: bool = True,
        live_updates: Optional[bool] = None,
        interval_ms: int = 0,
        request_timeout_ms: int = 30_000,
        local_write_debounce_ms: Optional[int] = None,
        gzip_above_bytes: int = 1024,
        durable_full: bool = False,
        conflicts: Optional[Mapping[str, Any]] = None,
        ca_bundle_path: Optional[PathLike] = None,
        store_lock_timeout_ms: int = 0,
        headers: Optional[Mapping[str, str]] = None,
        log: Optional[Callable[[int, str], Any]] = None,
        max_attempts: Optional[int] = None,
        dead_letter_max_age_ms: Optional[int] = None,
        upload_only: Optional[Sequence[str]] = None,
        deferrable: Optional[Sequence[str]] = None,
        pull_collections: Optional[Sequence[str]] = None,
        retention: Optional[Mapping[str, Mapping[str, int]]] = None,
        conflict_log_limit: Optional[int] = None,
        indexes: Optional[Sequence[Mapping[str, Any]]] = None,
        before_push: Optional[Callable[[Mutation], Any]] = None,
        after_pull: Optional[Callable[[PulledChange], Any]] = None,
        before_run: Optional[Callable[[str, str], Any]] = None,
        conflict_resolver: Optional[Callable[[ConflictInput], Any]] = None,
    ) -> Client:
        """Opens (or creates) the store at ``path`` and starts its owner thread.

        get_token(refresh): the bearer token for ferry-server, asked before
            every request on the owner thread; ``refresh`` is True when the
            server has just refused the token. Return None for no token;
            raise when no token can be had (the run fails, writes wait in
            "auth_error"). The token is never logged or stored.
        auto_sync: sync after each local write: at once when nothing is in
            flight, else in the next batch. local_write_debounce_ms: wait
            this long after a write first (None: the library's default, 0).
            live_updates: keep the server's live stream open (default: as
            auto_sync). interval_ms: background sync interval from the start
            (0: none).
        conflicts: {"default": strategy, "collections": {name: strategy}},
            strategies serverWins, clientWins, lastWriteWins, merge,
            manual: the conflict is kept for conflicts() and
            resolve_conflict(), the server's document shown meanwhile, and
            custom: conflict_resolver decides.
        conflict_resolver(conflict: ConflictInput): decides each conflict in
            a "custom" collection, on the owner thread inside the sync (it
            must not call the client). It returns the document to push as a
            new write, None to delete, or ferry.DEFER to keep the conflict
            open as "manual" does. One that raises, or returns what is not
            JSON, keeps the server's document; the sync.conflict event says
            "custom_failed: ..." and the exception is logged on the "ferry"
            logger. "custom" without a resolver is refused at open.
        log(level, message): Ferry's log lines with the logging module's
            levels, on the owner thread; ``logging.getLogger("ferry").log`` fits.

        store_lock_timeout_ms: how long to wait (blocking, without the GIL)
            for another client to close the store; 0: fail at once.

        headers: {name: value} sent with every request, the live stream
            included (an API key beside or instead of the bearer token).
            Ferry's own headers, names that are not HTTP tokens, values with
            CR, LF or NUL, and Authorization beside get_token are refused
            with InvalidArgumentError. Values are never logged.

        max_attempts: a write whose push failed for a transient reason (no
            answer: a network error, a timeout; HTTP 408, 429, 5xx) once that
            many pushes carried it is dead-lettered with that error
            (failed_mutations() lists it). None: no cap.
        dead_letter_max_age_ms: failed mutations older than this are
            discarded, at open and as time passes. None: kept.

        upload_only: collections whose writes are pushed but never pulled
            back (a fleet of devices under one account does not download
            each other's readings). pull_collections: the only collections
            pulled (None: all). Opening with another scope than the store's
            last one pulls the new scope from the start and forgets the
            documents outside it, keeping pending writes.

        deferrable: collections whose writes wait while the connection is
            metered (set_metered()): Ferry's own syncs push everything else.
            Writes pushed ahead of deferred ones give them new seqs, a cost
            in proportion to the writes waiting. Pulls are not deferred.

        retention: {collection: {"max_age_ms": ..., "max_count": ...}}: synced
            documents of the collection synced longer ago than max_age_ms,
            and beyond max_count the longest synced, are evicted from this
            store (never from the server), at open and after each completed
            run; documents with pending writes stay. See evict().

        conflict_log_limit: how many resolutions conflict_log() keeps, the
            newest (None: 1000; 0: none are recorded).

        indexes: query indexes, [{"collection": ..., "paths": [path, ...],
            "name": ... (optional)}]: kept in the commit of each write they
            index; query() reads one when it fits (explain() says which).
            Opening with other declarations rebuilds or drops those that
            changed. InvalidArgumentError for a declaration that is not one.

        Hooks, called on the owner thread inside the sync (they must not
        call the client); one that raises or answers otherwise fails the
        run, losing nothing, and the next run asks again:
        before_push(write): each write a push is about to carry, again on a
            retry. None pushes it; {"value": v} pushes v instead (kept in the
            queue from then on); {"refuse": reason} dead-letters it with
            that reason (failed_mutations()).
        after_pull(change): each pulled change with a document, before it
            is stored. None stores it; {"value": v} stores v; {"refuse":
            reason} keeps it out.
        before_run(reason, direction): before each sync run; False postpones
            it (the run ends "cancelled" with error "postponed"; an interval
            tick is skipped without a run).

        Raises BusyError when the store is open in another client (in this
        process or another) after that wait, TypeError/ValueError for a
        malformed option.
        """
        checked = check_open_options(
            path,
            endpoint,
            auto_sync=auto_sync,
            live_updates=live_updates,
            interval_ms=interval_ms,
            request_timeout_ms=request_timeout_ms,
            local_write_debounce_ms=local_write_debounce_ms,
            gzip_above_bytes=gzip_above_bytes,
            durable_full=durable_full,
            conflicts=conflicts,
            ca_bundle_path=ca_bundle_path,
            store_lock_timeout_ms=store_lock_timeout_ms,
            headers=headers,
            max_attempts=max_attempts,
            dead_letter_max_age_ms=dead_letter_max_age_ms,
            upload_only=upload_only,
            deferrable=deferrable,
            pull_collections=pull_collections,
            retention=retention,
            conflict_log_limit=conflict_log_limit,
            indexes=indexes,
        )
        token = TokenProvider(arguments.require_callable(get_token, "get_token")) if get_token else None
        log_forwarder = LogForwarder(arguments.require_callable(log, "log")) if log else None
        hooks = Hooks(
            *(
                arguments.require_callable(hook, name) if hook is not None else None
                for hook, name in (
                    (before_push, "before_push"),
                    (after_pull, "after_pull"),
                    (before_run, "before_run"),
                )
            )
        )
        resolver = (
            ConflictResolver(arguments.require_callable(conflict_resolver, "conflict_resolver"))
            if conflict_resolver is not None
            else None
        )
        options = options_struct(
            checked,
            token.c_function if token else None,
            log_forwarder.c_function if log_forwarder else None,
            hooks,
            resolver,
        )
        handle = Handle()
        call(library.ferry_client_open, ctypes.byref(options), ctypes.byref(handle))
        try:
            client = cls(handle, [token, log_forwarder, hooks, resolver])
        except BaseException:
            call(library.ferry_client_close, handle)
            raise
        with _open_clients_lock:
            _open_clients.add(client)
        return client

    def close(self) -> None:
        """Stops syncing and releases the store; pending writes stay for the
        next open. Calls made before it still finish; a sync_now waiting on
        another thread returns a run whose outcome is "cancelled". No callback
        runs after close returns. A second close, or one while another thread
        closes, does nothing.
        Raises WrongThreadError from inside a callback of this client."""
        # The lock is not held across the C call: a callback calling close()
        # while another thread closes must return, not wait for a close that
        # waits for that callback.
        with self._close_lock:
            if self._closed or self._closing:
                return
            self._closing = True
        try:
            call(library.ferry_client_close, self._handle)
        except BaseException:
            with self._close_lock:
                self._closing = False
            raise
        with self._close_lock:
            self._closed = True
            self._closing = False
        with _open_clients_lock:
            _open_clients.discard(self)
        # Only now may the C functions the library called go away.
        self._callbacks = []

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exception_type: Optional[type[BaseException]],
        exception: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    @staticmethod
    def delete_local_data(path: PathLike) -> None:
        """Sign-out: deletes the store at ``path``, pending writes included.
        The store must not be open (BusyError otherwise)."""
        encoded = arguments.utf8(arguments.require_path(path, "path"), "path")
        call(library.ferry_delete_local_data, slice_of(encoded))

    @property
    def client_id(self) -> str:
        """This store's client id."""
        return self._client_id

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- local data (each write is durable when the call returns)

    def put(self, collection: str, key: str, value: Json) -> None:
        """Writes a whole document (any JSON value but None)."""
        self.write([arguments.write_item("put", collection, key, value)])

    def patch(self, collection: str, key: str, merge_patch: Mapping[str, Json]) -> None:
        """Applies a JSON merge patch (RFC 7396); None deletes a member."""
        self.write([arguments.write_item("patch", collection, key, merge_patch)])

    def remove(self, collection: str, key: str) -> None:
        self.write([arguments.write_item("delete", collection, key, None)])

    def write(self, writes: Sequence[Mapping[str, Any]]) -> None:
        """Several writes in one atomic, durable commit (all or none): each
        {"op": "put" | "patch" | "delete", "collection", "key", "value"}."""
        text = arguments.json_text(arguments.write_batch(writes), "writes")
        self._call(library.ferry_client_write, slice_of(text))

    def get(self, collection: str, key: str) -> Json:
        """The local view of a document, or None when it does not exist."""
        text = self._call_for_text(
            library.ferry_client_get,
            self._text(collection, "collection"),
            self._text(key, "key"),
        )
        return None if text is None else json.loads(text)

    def scan(self, collection: str, key_prefix: str = "", limit: int = 0) -> list[StoredDocument]:
        """Documents whose key starts with key_prefix, in key order; limit 0 is all."""
        text = self._call_for_text(
            library.ferry_client_scan,
            self._text(collection, "collection"),
            self._text(key_prefix, "key_prefix"),
            arguments.require_count(limit, "limit"),
        )
        return [StoredDocument(item["key"], item["value"]) for item in json.loads(text or b"[]")]

    def query(
        self,
        collection: str,
        where: Optional[Mapping[str, Any]] = None,
        order_by: Optional[Sequence[Union[str, Mapping[str, Any]]]] = None,
        limit: int = 0,
        after: Optional[str] = None,
    ) -> QueryPage:
        """A local query over the local view, pending writes included
        (docs/API.md, "Local queries"): ``where`` a filter such as
        {"and": [{"path": "project", "eq": "p1"}, {"path": "due", "lt": 5}]},
        ``order_by`` paths ("due", or {"path": "due", "desc": True}),
        ``limit`` 0 for every match, ``after`` a page's ``next``.
        InvalidArgumentError for a query that is not one."""
        text = self._call_for_text(library.ferry_client_query, self._query(collection, where, order_by, limit, after))
        page = json.loads(text)
        documents = [StoredDocument(item["key"], item["value"]) for item in page["documents"]]
        return QueryPage(documents, page["next"])

    def count(self, collection: str, where: Optional[Mapping[str, Any]] = None) -> int:
        """How many documents of the collection match ``where`` (all without it)."""
        counted = ctypes.c_size_t(0)
        self._call(library.ferry_client_count, self._query(collection, where, None, 0, None), ctypes.byref(counted))
        return counted.value

    def explain(
        self,
        collection: str,
        where: Optional[Mapping[str, Any]] = None,
        order_by: Optional[Sequence[Union[str, Mapping[str, Any]]]] = None,
        limit: int = 0,
        after: Optional[str] = None,
    ) -> dict[str, Any]:
        """How query() would answer these arguments: {"collection", "index":
        the index's name or None (a scan), "equalities", "narrowed",
        "ordered"} (docs/API.md, "Local queries")."""
        text = self._call_for_text(library.ferry_client_explain, self._query(collection, where, order_by, limit, after))
        plan: dict[str, Any] = json.loads(text)
        return plan

    def subscribe_query(
        self,
        collection: str,
        listener: Callable[[LiveQueryPage], Any],
        where: Optional[Mapping[str, Any]] = None,
        order_by: Optional[Sequence[Union[str, Mapping[str, Any]]]] = None,
        limit: int = 0,
        after: Optional[str] = None,
    ) -> Callable[[], None]:
        """A live query: calls ``listener(page)`` on the owner thread with
        the page query() would give, then with each new page (a
        LiveQueryPage: the documents, and the keys added, removed, changed
        and moved) whenever a local write, a pull or a conflict's resolution
        changes it. Returns the function that ends it.
        InvalidArgumentError for a query that is not one."""
        arguments.require_callable(listener, "listener")
        query = self._query(collection, where, order_by, limit, after)
        query_id = next(self._live_query_ids)

        def own_pages(page: LiveQueryPage) -> None:
            if page.query == query_id:
                listener(page)

        # Listening before subscribing: the first page may come at once.
        stop_listening = self._register(library.ferry_client_add_event_listener, "query", own_pages)
        try:
            self._call(library.ferry_client_subscribe_query, query, query_id)
        except BaseException:
            stop_listening()
            raise

        def end() -> None:
            if not self._closed:
                try:
                    self._call(library.ferry_client_unsubscribe_query, query_id)
                except (NotFoundError, ClientClosedError):
                    pass  # ended twice, or the client closed meanwhile
            stop_listening()

        return end

    @staticmethod
    def _query(collection: Any, where: Any, order_by: Any, limit: Any, after: Any) -> Any:
        query: dict[str, Any] = {"collection": arguments.require_string(collection, "collection")}
        if where is not None:
            query["where"] = where
        if order_by is not None:
            query["orderBy"] = [{"path": key} if isinstance(key, str) else key for key in order_by]
        if limit:
            query["limit"] = arguments.require_count(limit, "limit")
        if after is not None:
            query["after"] = arguments.require_string(after, "after")
        return slice_of(arguments.json_text(query, "query"))

    # ---- listening (listeners run on the client's owner thread)

    def subscribe(self, listener: Callable[[Change], Any]) -> Callable[[], None]:
        """Calls ``listener(change)`` on the owner thread when local views
        change (local writes, pulls, conflicts). Returns the unsubscribe function."""
        arguments.require_callable(listener, "listener")
        return self._register(library.ferry_client_subscribe, None, listener)

    def add_event_listener(self, event_type: str, listener: Callable[[Any], Any]) -> Callable[[], None]:
        """Calls ``listener(detail)`` on the owner thread for each event of
        ``event_type`` (ferry.EVENT_TYPES). The detail is a SyncStarted,
        SyncProgress, SyncRun (sync.completed, sync.failed), Conflict,
        MutationRejected, SyncStatus (status) or Change (change). Adding the
        same listener for the same type twice adds it once. Returns a function
        that removes it. A listener that raises is logged on the "ferry"
        logger; the others still run."""
        arguments.require_string(event_type, "event_type")
        if event_type not in EVENT_TYPES:
            raise ValueError(f"event_type must be one of {', '.join(sorted(EVENT_TYPES))}, got {event_type!r}")
        arguments.require_callable(listener, "listener")
        if self._listeners.find(event_type, listener) is None:
            self._register(library.ferry_client_add_event_listener, event_type, listener)
        return lambda: self.remove_event_listener(event_type, listener)

    def remove_event_listener(self, event_type: str, listener: Callable[[Any], Any]) -> None:
        """Once it returns, the listener is not running (unless removed from
        inside itself) and never runs again. Unknown listeners are ignored."""
        token = self._listeners.find(event_type, listener)
        if token is not None:
            self._unregister(token)

    def _register(self, add: Callable[..., int], event_type: Optional[str], listener: Callable[[Any], Any]) -> Callable[[], None]:
        token = self._listeners.add(event_type, listener)
        listener_id = ctypes.c_uint64()
        try:
            self._call(add, self._listeners.c_function, ctypes.c_void_p(token), ctypes.byref(listener_id))
        except BaseException:
            self._listeners.discard(token)
            raise
        self._listener_ids[token] = listener_id.value
        return lambda: self._unregister(token)

    def _unregister(self, token: int) -> None:
        listener_id = self._listener_ids.pop(token, None)
        if listener_id is None or self._closed:
            self._listeners.discard(token)
            return
        try:
            self._call(library.ferry_client_remove_listener, listener_id)
        except (NotFoundError, ClientClosedError):
            pass  # already gone: removing twice, or the client closed meanwhile
        self._listeners.discard(token)

    # ---- sync

    def sync_now(self, direction: str = "both") -> SyncRun:
        """Starts a sync (or joins the running one) and returns the run that
        covered it; a failed run is returned, not raised: read its outcome.
        ``direction``: "push" (push only, never pulls), "pull" (pull only,
        pushes nothing) or "both"; ValueError for anything else.
        Blocks without the GIL. WrongThreadError from inside a callback."""
        code = arguments.require_sync_direction(direction)
        text = self._call_for_text(library.ferry_client_sync_now_direction, code)
        return SyncRun.from_json(json.loads(text))

    def resync(self) -> SyncRun:
        """A forced full resync: forgets the pull cursor and pulls everything
        from the start; pending writes stay queued (and shown); documents the
        server no longer has are forgotten unless they have pending writes.
        With a run in flight, the resync is the run after it. Returns that
        run; blocks without the GIL. WrongThreadError from inside a callback."""
        return SyncRun.from_json(json.loads(self._call_for_text(library.ferry_client_resync)))

    def start_background_sync(self, interval_ms: int) -> None:
        """Syncs every interval_ms (> 0) besides the other triggers, until stopped."""
        self._call(
            library.ferry_client_start_background_sync,
            arguments.require_milliseconds(interval_ms, "interval_ms"),
        )

    def stop_background_sync(self) -> None:
        self._call(library.ferry_client_stop_background_sync)

    def set_online(self, online: bool) -> None:
        """Declares connectivity: while offline no request is made; coming
        online starts a sync."""
        self._call(library.ferry_client_set_online, arguments.require_bool(online, "online"))

    def network_changed(self) -> None:
        """The network changed (an OS callback, a new interface): after network
        failures Ferry probes the server at once instead of waiting out its
        probe backoff."""
        self._call(library.ferry_client_network_changed)

    def set_metered(self, metered: bool) -> None:
        """Whether the connection is metered (False at open): while it is,
        the syncs Ferry starts itself leave the writes of ``deferrable``
        collections for later; sync_now() pushes them, and so does the first
        sync after set_metered(False)."""
        self._call(library.ferry_client_set_metered, arguments.require_bool(metered, "metered"))

    def cancel(self) -> None:
        """Stops the running sync and any scheduled retry; every write stays pending."""
        self._call(library.ferry_client_cancel)

    # ---- reports

    def status(self) -> SyncStatus:
        return SyncStatus.from_json(self._report(library.ferry_client_status))

    def statistics(self) -> dict[str, int]:
        """Counters since the store was made, by snake_case name
        (runs_started, mutations_pushed, documents_pulled, bytes_sent, ...)."""
        return statistics_from_json(self._report(library.ferry_client_statistics))

    def history(self, limit: int = 50) -> list[SyncRun]:
        """The last ``limit`` runs, newest first."""
        runs = self._report(library.ferry_client_history, arguments.require_count(limit, "limit"))
        return [SyncRun.from_json(run) for run in runs]

    def failed_mutations(self) -> list[FailedMutation]:
        """Writes the server rejected, kept until retried or discarded."""
        return [FailedMutation.from_json(item) for item in self._report(library.ferry_client_failed_mutations)]

    def retry_failed_mutation(self, seq: int) -> int:
        """Queues a failed mutation again; returns its new seq. NotFoundError
        when ``seq`` is not a failed mutation."""
        new_seq = ctypes.c_uint64()
        self._call(
            library.ferry_client_retry_failed_mutation,
            arguments.require_count(seq, "seq"),
            ctypes.byref(new_seq),
        )
        return new_seq.value

    def discard_failed_mutation(self, seq: int) -> None:
        """Drops a failed mutation for good. NotFoundError when it is not one."""
        self._call(library.ferry_client_discard_failed_mutation, arguments.require_count(seq, "seq"))

    # ---- queue control

    def pending_mutations(self, after_seq: int = 0, limit: int = 100) -> list[PendingMutation]:
        """Writes waiting to be pushed with seq above ``after_seq``, in seq
        order, at most ``limit`` (0: 100): page on with the last seq of a
        page. Each shows its attempts, when the last one ended and why it
        failed."""
        items = self._report(
            library.ferry_client_pending_mutations,
            arguments.require_count(after_seq, "after_seq"),
            arguments.require_count(limit, "limit"),
        )
        return [PendingMutation.from_json(item) for item in items]

    def clear_history(self, keep_latest: bool = False) -> None:
        """Forgets past sync runs; with ``keep_latest``, all but the newest."""
        self._call(library.ferry_client_clear_history, arguments.require_bool(keep_latest, "keep_latest"))

    # ---- the conflict log

    def conflict_log(self, after_id: int = 0, limit: int = 100) -> list[ConflictLogEntry]:
        """Every conflict resolution, automatic or custom, oldest first, with
        id above ``after_id``, at most ``limit`` (0: 100): page on with the
        last id of a page. Each says which document, the strategy, who won
        ("server", "local", or "new" for a merged value) and when."""
        items = self._report(
            library.ferry_client_conflict_log,
            arguments.require_count(after_id, "after_id"),
            arguments.require_count(limit, "limit"),
        )
        return [ConflictLogEntry.from_json(item) for item in items]

    def clear_conflict_log(self) -> None:
        """Forgets every recorded resolution; ids keep ascending after it."""
        self._call(library.ferry_client_clear_conflict_log)

    def conflicts(self) -> list[OpenConflict]:
        """Conflicts kept open for a person (strategy "manual"), with base,
        local and the server's document now; they survive a restart."""
        return [OpenConflict.from_json(item) for item in self._report(library.ferry_client_conflicts)]

    def resolve_conflict(self, collection: str, key: str, value: Json) -> None:
        """Settles the open conflict on a document with ``value`` (None
        deletes it): a local write pushed like any other, logged in
        conflict_log(). NotFoundError when none is open there."""
        self._call(
            library.ferry_client_resolve_conflict,
            self._text(collection, "collection"),
            self._text(key, "key"),
            slice_of(arguments.json_text(value, "value")),
        )

    # ---- local retention

    def evict(self, collection: str, keys: Optional[Sequence[str]] = None) -> int:
        """Drops synced documents of ``collection`` from this store, never
        from the server: ``keys``, or every document of the collection when
        None. Documents with pending writes stay. Returns how many went;
        listeners hear a Change with ``evicted``. An evicted document's
        version goes too: a later local write to it meets the server's copy
        as a conflict, so evict what you will not write again."""
        names = None if keys is None else arguments.collection_names(keys, "keys")
        array = (Slice * len(names or []))(*(slice_of(name) for name in names or []))
        evicted = ctypes.c_size_t()
        self._call(
            library.ferry_client_evict,
            self._text(collection, "collection"),
            array,
            len(array),
            keys is None,
            ctypes.byref(evicted),
        )
        return evicted.value

    # ---- internals

    def _ensure_open(self) -> None:
        if self._closed:
            raise ClientClosedError()

    def _call(self, function: Callable[..., int], *rest: Any) -> None:
        self._ensure_open()
        call(function, self._handle, *rest)

    def _call_for_text(self, function: Callable[..., int], *rest: Any) -> Optional[bytes]:
        self._ensure_open()
        return call_for_text(function, self._handle, *rest)

    def _report(self, function: Callable[..., int], *rest: Any) -> Any:
        return json.loads(self._call_for_text(function, *rest))

    @staticmethod
    def _text(value: Any, name: str) -> Any:
        return slice_of(arguments.utf8(arguments.require_string(value, name), name))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ferry.Client {self._client_id} {state}>"
