"""Client.open's keyword options, checked and turned into ferry_client_options."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any, Callable, Optional

from . import _arguments as arguments
from ._callbacks import ConflictResolver, Hooks
from ._calls import slice_of
from ._library import ClientOptions, HttpHeader, RetentionRule, Slice, library
from .errors import InvalidArgumentError


@dataclass
class OpenOptions:
    """What Client.open was given, checked. Keeps the encoded strings alive
    while the C struct points at them (ferry_client_open copies them)."""

    path: bytes
    endpoint: bytes
    auto_sync: bool = True
    live_updates: Optional[bool] = None
    interval_ms: int = 0
    request_timeout_ms: int = 30_000
    local_write_debounce_ms: Optional[int] = None  # None: the library's default
    gzip_above_bytes: int = 1024
    durable_full: bool = False
    conflicts: bytes = b""
    ca_bundle_path: bytes = b""
    store_lock_timeout_ms: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    max_attempts: int = 0  # 0: no cap
    dead_letter_max_age_ms: int = 0  # 0: dead letters are kept
    upload_only: list[bytes] = field(default_factory=list)
    deferrable: list[bytes] = field(default_factory=list)
    indexes: bytes = b""  # JSON text; the C API checks each declaration
    pull_collections: Optional[list[bytes]] = None  # None: every collection
    retention: list[tuple[bytes, int, int]] = field(default_factory=list)
    conflict_log_limit: Optional[int] = None  # None: the library's default


def check_open_options(
    path: Any,
    endpoint: Any,
    *,
    auto_sync: Any,
    live_updates: Any,
    interval_ms: Any,
    request_timeout_ms: Any,
    local_write_debounce_ms: Any,
    gzip_above_bytes: Any,
    durable_full: Any,
    conflicts: Any,
    ca_bundle_path: Any,
    store_lock_timeout_ms: Any,
    headers: Any = None,
    max_attempts: Any = None,
    dead_letter_max_age_ms: Any = None,
    upload_only: Any = None,
    deferrable: Any = None,
    pull_collections: Any = None,
    retention: Any = None,
    conflict_log_limit: Any = None,
    indexes: Any = None,
) -> OpenOptions:
    """TypeErrors and ValueErrors naming the option, before the C API sees any."""
    if live_updates is not None:
        arguments.require_bool(live_updates, "live_updates")
    if conflicts is not None and not isinstance(conflicts, dict):
        raise TypeError(f"conflicts must be a dict, got {type(conflicts).__name__}")
    if indexes is not None and (isinstance(indexes, (str, bytes)) or not isinstance(indexes, Sequence)):
        raise TypeError(f"indexes must be a list of declarations, got {type(indexes).__name__}")
    return OpenOptions(
        path=arguments.utf8(arguments.require_path(path, "path"), "path"),
        endpoint=arguments.utf8(arguments.require_string(endpoint, "endpoint"), "endpoint"),
        auto_sync=arguments.require_bool(auto_sync, "auto_sync"),
        live_updates=live_updates,
        interval_ms=arguments.require_milliseconds(interval_ms, "interval_ms", allow_zero=True),
        request_timeout_ms=arguments.require_milliseconds(request_timeout_ms, "request_timeout_ms"),
        local_write_debounce_ms=None
        if local_write_debounce_ms is None
        else arguments.require_milliseconds(local_write_debounce_ms, "local_write_debounce_ms", allow_zero=True),
        gzip_above_bytes=arguments.require_count(gzip_above_bytes, "gzip_above_bytes"),
        durable_full=arguments.require_bool(durable_full, "durable_full"),
        conflicts=b"" if conflicts is None else arguments.json_text(conflicts, "conflicts"),
        ca_bundle_path=b""
        if ca_bundle_path is None
        else arguments.utf8(arguments.require_path(ca_bundle_path, "ca_bundle_path"), "ca_bundle_path"),
        store_lock_timeout_ms=arguments.require_milliseconds(
            store_lock_timeout_ms, "store_lock_timeout_ms", allow_zero=True
        ),
        headers=[] if headers is None else arguments.headers(headers, "headers"),
        max_attempts=0 if max_attempts is None else _positive_attempts(max_attempts),
        dead_letter_max_age_ms=0
        if dead_letter_max_age_ms is None
        else arguments.require_milliseconds(dead_letter_max_age_ms, "dead_letter_max_age_ms"),
        upload_only=[] if upload_only is None else arguments.collection_names(upload_only, "upload_only"),
        deferrable=[] if deferrable is None else arguments.collection_names(deferrable, "deferrable"),
        indexes=b"" if indexes is None else arguments.json_text(list(indexes), "indexes"),
        pull_collections=None
        if pull_collections is None
        else arguments.collection_names(pull_collections, "pull_collections"),
        retention=[] if retention is None else arguments.retention_rules(retention, "retention"),
        conflict_log_limit=None
        if conflict_log_limit is None
        else arguments.require_count(conflict_log_limit, "conflict_log_limit"),
    )


def _positive_attempts(value: Any) -> int:
    count = arguments.require_count(value, "max_attempts")
    if not 1 <= count < 2**32:
        raise ValueError(f"max_attempts must be between 1 and 2**32 - 1, got {count}")
    return count


def options_struct(
    checked: OpenOptions,
    token_function: Optional[Callable[..., Any]],
    log_function: Optional[Callable[..., Any]],
    hooks: Optional[Hooks] = None,
    resolver: Optional[ConflictResolver] = None,
) -> ClientOptions:
    """The C options: library defaults, then what was given."""
    options = ClientOptions()
    if library.ferry_client_options_init(ctypes.byref(options), ctypes.sizeof(options)) != 0:
        raise InvalidArgumentError(
            "invalid_argument", "this libferry does not know the options layout of this package"
        )
    options.path = slice_of(checked.path)
    options.endpoint = slice_of(checked.endpoint)
    options.sync_on_local_write = checked.auto_sync
    # As in the web package: without a word, live updates follow auto_sync,
    # so a client that syncs only when told stays that way.
    options.live_updates = checked.auto_sync if checked.live_updates is None else checked.live_updates
    options.interval_ms = checked.interval_ms
    options.request_timeout_ms = checked.request_timeout_ms
    if checked.local_write_debounce_ms is not None:
        options.local_write_debounce_ms = checked.local_write_debounce_ms
    options.gzip_above_bytes = checked.gzip_above_bytes
    options.durable_full = checked.durable_full
    options.conflicts_json = slice_of(checked.conflicts)
    options.ca_bundle_path = slice_of(checked.ca_bundle_path)
    options.store_lock_timeout_ms = checked.store_lock_timeout_ms
    options.max_attempts = checked.max_attempts
    options.dead_letter_max_age_ms = checked.dead_letter_max_age_ms
    if checked.conflict_log_limit is not None:
        options.conflict_log_limit = checked.conflict_log_limit
    # Kept alive by `checked` (the names and values) and the struct (the
    # array) until ferry_client_open has copied them.
    header_array = (HttpHeader * len(checked.headers))(
        *(HttpHeader(slice_of(name), slice_of(value)) for name, value in checked.headers)
    )
    options.headers = ctypes.cast(header_array, ctypes.POINTER(HttpHeader))
    options.header_count = len(checked.headers)
    options._header_array = header_array
    options._upload_only = _slice_array(options, "upload_only", checked.upload_only)
    options._deferrable = _slice_array(options, "deferrable", checked.deferrable)
    options.indexes_json = slice_of(checked.indexes)
    if checked.pull_collections is not None:
        options.has_pull_scope = True
        options._pull_collections = _slice_array(options, "pull_collections", checked.pull_collections)
    rule_array = (RetentionRule * len(checked.retention))(
        *(RetentionRule(slice_of(name), max_age, count) for name, max_age, count in checked.retention)
    )
    options.retention = ctypes.cast(rule_array, ctypes.POINTER(RetentionRule))
    options.retention_count = len(checked.retention)
    options._rule_array = rule_array
    if token_function is not None:
        options.token_provider = token_function
    if log_function is not None:
        options.log = log_function
    if hooks is not None and hooks.points:
        options.hook = hooks.c_function
        options.hook_points = hooks.points
    if resolver is not None:
        options.conflict_resolver = resolver.c_function
    return options


def _slice_array(options: ClientOptions, name: str, names: list[bytes]) -> Any:
    """Points options.<name> at the names (kept alive by the caller's checked
    options) and returns the array, which the struct must keep alive."""
    array = (Slice * len(names))(*(slice_of(item) for item in names))
    setattr(options, name, ctypes.cast(array, ctypes.POINTER(Slice)))
    setattr(options, name + "_count", len(names))
    return array
