"""Loads libferry and declares the C API (bindings/c/include/ferry/ferry.h) for ctypes.

Only this file knows the C layouts. Every function is declared with its
argument and result types, so a wrong Python value is a ctypes error rather
than memory corruption. ctypes releases the GIL around every call into a
CDLL and takes it again when C calls a CFUNCTYPE callback, which is what
lets other Python threads run while a call blocks on the client's owner
thread, and lets that owner thread run Python callbacks meanwhile.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

# The environment variable naming a libferry to load instead of the copy
# bundled in the package (e.g. a sanitizer or debug build).
LIBRARY_VARIABLE = "FERRY_LIBRARY"
BUNDLED_NAME = "libferry.so"

c_size_t = ctypes.c_size_t
c_void_p = ctypes.c_void_p


class Slice(ctypes.Structure):
    """ferry_slice: borrowed UTF-8 bytes; the bytes object must outlive the call."""

    _fields_ = [("data", ctypes.c_char_p), ("size", c_size_t)]


class Buffer(ctypes.Structure):
    """ferry_buffer: text the library allocated; released with ferry_buffer_release."""

    # c_void_p, not c_char_p: ctypes would copy a c_char_p field into bytes
    # and lose the pointer that must be released.
    _fields_ = [("data", c_void_p), ("size", c_size_t)]


class Error(ctypes.Structure):
    """ferry_error: a code and a message the library owns until ferry_error_clear."""

    _fields_ = [("code", ctypes.c_int), ("message", c_void_p), ("message_size", c_size_t)]


# Callback types, as in ferry.h. Pointers arrive as integers (c_void_p) and
# are copied with ctypes.string_at before the callback returns.
LogCallback = ctypes.CFUNCTYPE(None, c_void_p, ctypes.c_int, c_void_p, c_size_t)
TokenCallback = ctypes.CFUNCTYPE(c_size_t, c_void_p, ctypes.c_bool, c_void_p, c_size_t)
EventCallback = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)
SendRequestCallback = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)
CancelRequestCallback = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, ctypes.c_uint64)
# ferry_hook_callback(user_data, point, input_json, size, answer)
HookCallback = ctypes.CFUNCTYPE(None, c_void_p, ctypes.c_int, c_void_p, c_size_t, c_void_p)
# ferry_conflict_resolver_callback(user_data, input_json, size, answer)
ConflictResolverCallback = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_size_t, c_void_p)


class HttpHeader(ctypes.Structure):
    """ferry_http_header"""

    _fields_ = [("name", Slice), ("value", Slice)]


class RetentionRule(ctypes.Structure):
    """ferry_retention_rule"""

    _fields_ = [("collection", Slice), ("max_age_ms", ctypes.c_int64), ("max_count", ctypes.c_uint64)]


class ClientOptions(ctypes.Structure):
    """ferry_client_options, field for field. ferry_client_options_init refuses
    a struct_size it does not know, which catches a layout that drifted."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("path", Slice),
        ("endpoint", Slice),
        ("sync_on_local_write", ctypes.c_bool),
        ("local_write_debounce_ms", ctypes.c_int64),
        ("request_timeout_ms", ctypes.c_int64),
        ("interval_ms", ctypes.c_int64),
        ("random_seed", ctypes.c_uint64),
        ("push_batch_size", c_size_t),
        ("pull_page_size", c_size_t),
        ("live_updates", ctypes.c_bool),
        ("gzip_above_bytes", c_size_t),
        ("durable_full", ctypes.c_bool),
        ("conflicts_json", Slice),
        ("ca_bundle_path", Slice),
        ("dangerously_disable_tls_verification", ctypes.c_bool),
        ("log", LogCallback),
        ("log_user_data", c_void_p),
        ("token_provider", TokenCallback),
        ("token_user_data", c_void_p),
        ("send_request", SendRequestCallback),
        ("cancel_request", CancelRequestCallback),
        ("transport_user_data", c_void_p),
        ("conflict_resolver", ConflictResolverCallback),
        ("conflict_user_data", c_void_p),
        ("store_lock_timeout_ms", ctypes.c_int64),
        ("headers", ctypes.POINTER(HttpHeader)),
        ("header_count", c_size_t),
        ("backoff_base_ms", ctypes.c_int64),
        ("backoff_max_ms", ctypes.c_int64),
        ("push_batch_bytes", c_size_t),
        ("history_limit", c_size_t),
        ("dead_letter_max_age_ms", ctypes.c_int64),
        ("max_attempts", ctypes.c_uint32),
        ("upload_only", ctypes.POINTER(Slice)),
        ("upload_only_count", c_size_t),
        ("pull_collections", ctypes.POINTER(Slice)),
        ("pull_collections_count", c_size_t),
        ("has_pull_scope", ctypes.c_bool),
        ("retention", ctypes.POINTER(RetentionRule)),
        ("retention_count", c_size_t),
        ("conflict_log_limit", c_size_t),
        ("hook", HookCallback),
        ("hook_user_data", c_void_p),
        ("hook_points", ctypes.c_uint),
        ("deferrable", ctypes.POINTER(Slice)),
        ("deferrable_count", c_size_t),
        ("indexes_json", Slice),
    ]


Handle = c_void_p  # ferry_client*, opaque
ErrorPointer = ctypes.POINTER(Error)
BufferPointer = ctypes.POINTER(Buffer)

# name: (result type, argument types); every fallible call ends with ferry_error*.
_SIGNATURES = {
    "ferry_version": (ctypes.c_char_p, []),
    "ferry_version_number": (ctypes.c_uint32, []),
    "ferry_result_name": (ctypes.c_char_p, [ctypes.c_int]),
    "ferry_error_clear": (None, [ErrorPointer]),
    "ferry_buffer_release": (None, [BufferPointer]),
    "ferry_client_options_init": (ctypes.c_int, [ctypes.POINTER(ClientOptions), c_size_t]),
    "ferry_client_open": (
        ctypes.c_int,
        [ctypes.POINTER(ClientOptions), ctypes.POINTER(Handle), ErrorPointer],
    ),
    "ferry_client_close": (ctypes.c_int, [Handle, ErrorPointer]),
    "ferry_client_id": (ctypes.c_int, [Handle, BufferPointer, ErrorPointer]),
    "ferry_client_put": (ctypes.c_int, [Handle, Slice, Slice, Slice, ErrorPointer]),
    "ferry_client_patch": (ctypes.c_int, [Handle, Slice, Slice, Slice, ErrorPointer]),
    "ferry_client_remove": (ctypes.c_int, [Handle, Slice, Slice, ErrorPointer]),
    "ferry_client_write": (ctypes.c_int, [Handle, Slice, ErrorPointer]),
    "ferry_client_get": (ctypes.c_int, [Handle, Slice, Slice, BufferPointer, ErrorPointer]),
    "ferry_client_scan": (
        ctypes.c_int,
        [Handle, Slice, Slice, c_size_t, BufferPointer, ErrorPointer],
    ),
    "ferry_client_query": (ctypes.c_int, [Handle, Slice, BufferPointer, ErrorPointer]),
    "ferry_client_count": (ctypes.c_int, [Handle, Slice, ctypes.POINTER(c_size_t), ErrorPointer]),
    "ferry_client_explain": (ctypes.c_int, [Handle, Slice, ctypes.POINTER(Buffer), ErrorPointer]),
    "ferry_client_subscribe": (
        ctypes.c_int,
        [Handle, EventCallback, c_void_p, ctypes.POINTER(ctypes.c_uint64), ErrorPointer],
    ),
    "ferry_client_add_event_listener": (
        ctypes.c_int,
        [Handle, EventCallback, c_void_p, ctypes.POINTER(ctypes.c_uint64), ErrorPointer],
    ),
    "ferry_client_remove_listener": (ctypes.c_int, [Handle, ctypes.c_uint64, ErrorPointer]),
    "ferry_client_subscribe_query": (ctypes.c_int, [Handle, Slice, ctypes.c_uint64, ErrorPointer]),
    "ferry_client_unsubscribe_query": (ctypes.c_int, [Handle, ctypes.c_uint64, ErrorPointer]),
    "ferry_client_sync_now": (ctypes.c_int, [Handle, BufferPointer, ErrorPointer]),
    "ferry_client_sync_now_direction": (
        ctypes.c_int,
        [Handle, ctypes.c_int, BufferPointer, ErrorPointer],
    ),
    "ferry_client_resync": (ctypes.c_int, [Handle, BufferPointer, ErrorPointer]),
    "ferry_client_start_background_sync": (ctypes.c_int, [Handle, ctypes.c_int64, ErrorPointer]),
    "ferry_client_stop_background_sync": (ctypes.c_int, [Handle, ErrorPointer]),
    "ferry_client_set_online": (ctypes.c_int, [Handle, ctypes.c_bool, ErrorPointer]),
    "ferry_client_cancel": (ctypes.c_int, [Handle, ErrorPointer]),
    "ferry_client_network_changed": (ctypes.c_int, [Handle, ErrorPointer]),
    "ferry_client_set_metered": (ctypes.c_int, [Handle, ctypes.c_bool, ErrorPointer]),
    "ferry_client_status": (ctypes.c_int, [Handle, BufferPointer, ErrorPointer]),
    "ferry_client_statistics": (ctypes.c_int, [Handle, BufferPointer, ErrorPointer]),
    "ferry_client_history": (ctypes.c_int, [Handle, c_size_t, BufferPointer, ErrorPointer]),
    "ferry_client_failed_mutations": (ctypes.c_int, [Handle, BufferPointer, ErrorPointer]),
    "ferry_client_retry_failed_mutation": (
        ctypes.c_int,
        [Handle, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), ErrorPointer],
    ),
    "ferry_client_discard_failed_mutation": (
        ctypes.c_int,
        [Handle, ctypes.c_uint64, ErrorPointer],
    ),
    "ferry_delete_local_data": (ctypes.c_int, [Slice, ErrorPointer]),
    "ferry_client_pending_mutations": (
        ctypes.c_int,
        [Handle, ctypes.c_uint64, c_size_t, BufferPointer, ErrorPointer],
    ),
    "ferry_client_clear_history": (ctypes.c_int, [Handle, ctypes.c_bool, ErrorPointer]),
    "ferry_client_conflict_log": (
        ctypes.c_int,
        [Handle, ctypes.c_uint64, c_size_t, BufferPointer, ErrorPointer],
    ),
    "ferry_client_clear_conflict_log": (ctypes.c_int, [Handle, ErrorPointer]),
    "ferry_client_conflicts": (ctypes.c_int, [Handle, BufferPointer, ErrorPointer]),
    "ferry_client_resolve_conflict": (ctypes.c_int, [Handle, Slice, Slice, Slice, ErrorPointer]),
    "ferry_hook_answer_set": (ctypes.c_int, [c_void_p, Slice, ErrorPointer]),
    "ferry_conflict_answer_set": (ctypes.c_int, [c_void_p, Slice, ErrorPointer]),
    "ferry_client_evict": (
        ctypes.c_int,
        [Handle, Slice, ctypes.POINTER(Slice), c_size_t, ctypes.c_bool, ctypes.POINTER(c_size_t), ErrorPointer],
    ),
}


def _candidate_paths() -> list[str]:
    """Where libferry may be, in order: the variable, the bundled copy, the system."""
    candidates = []
    if os.environ.get(LIBRARY_VARIABLE):
        return [os.environ[LIBRARY_VARIABLE]]
    bundled = Path(__file__).with_name(BUNDLED_NAME)
    if bundled.exists():
        candidates.append(str(bundled))
    system = ctypes.util.find_library("ferry")
    if system:
        candidates.append(system)
    return candidates


def _load() -> ctypes.CDLL:
    candidates = _candidate_paths()
    if not candidates:
        raise ImportError(
            "libferry was not found: install the package from the repository "
            "(bindings/python/README.md), or set FERRY_LIBRARY to a libferry.so"
        )
    try:
        library = ctypes.CDLL(candidates[0])
    except OSError as error:
        raise ImportError(f"libferry could not be loaded from {candidates[0]}: {error}") from None
    for name, (result_type, argument_types) in _SIGNATURES.items():
        function = getattr(library, name)
        function.restype = result_type
        function.argtypes = argument_types
    return library


library = _load()
