"""The C callbacks behind Client's Python callbacks: token provider, log, hooks,
the conflict resolver, listeners.

All of them run on the client's owner thread (a thread libferry started);
ctypes takes the GIL for the duration of each. A Python callback that raises
must not take the process down nor stop the client: the exception is logged
on the "ferry" logger and the C side gets a harmless answer (no action; for
the token provider, FERRY_TOKEN_FAILED: the run fails and writes wait). Each object here keeps its CFUNCTYPE alive for as long as the C
library may call it: the client holds them until ferry_client_close returns.
"""

from __future__ import annotations

import ctypes
import json
import logging
import threading
from typing import Any, Callable, Optional

from ._calls import slice_of
from ._library import ConflictResolverCallback, EventCallback, HookCallback, LogCallback, TokenCallback, library
from .records import DEFER, ConflictInput, Mutation, PulledChange, event_detail

logger = logging.getLogger("ferry")

# ferry_log_level -> the logging module's levels.
_LOG_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}


# ferry.h's FERRY_TOKEN_FAILED (SIZE_MAX): no token can be had.
TOKEN_FAILED = ctypes.c_size_t(-1).value


class TokenProvider:
    """Asks ``get_token(refresh)`` for the bearer token before each request.

    The token is copied into Ferry's buffer and never logged. When it does not
    fit, Ferry asks again with a buffer of the returned size: the second ask
    gets the same token rather than calling the provider twice. A provider
    that raises (or returns neither a str nor None) fails the request with
    FERRY_TOKEN_FAILED, as a rejected getToken does in Node: the run fails,
    the client waits in "auth_error" and keeps every write. Sending the
    request without a token instead would only earn a 401.
    """

    def __init__(self, get_token: Callable[[bool], Optional[str]]) -> None:
        self._get_token = get_token
        self._too_long: Optional[bytes] = None
        self.c_function = TokenCallback(self._provide)

    def _provide(self, user_data: Any, refresh: bool, buffer: int, capacity: int) -> int:
        token = self._too_long
        self._too_long = None
        # A kept token that still does not fit belongs to a request Ferry gave
        # up on (a token over its limit): this is a new request, so ask again.
        if token is None or len(token) > capacity:
            try:
                token = self._ask(refresh)
            except Exception as error:  # noqa: BLE001 - reported to Ferry, never raised into C
                return _fail(buffer, capacity, error)
        if len(token) > capacity:
            self._too_long = token
        elif token:
            ctypes.memmove(buffer, token, len(token))
        return len(token)

    def _ask(self, refresh: bool) -> bytes:
        token = self._get_token(refresh)
        if token is None:
            return b""
        if not isinstance(token, str):
            raise TypeError(f"the token provider must return a str or None, got {type(token).__name__}")
        return token.encode("utf-8")


def _fail(buffer: int, capacity: int, error: Exception) -> int:
    # The type only, in the log and in the run's error: an exception's text
    # could quote the token.
    reason = f"the token provider raised {type(error).__name__}"
    logger.error("%s; the request is not sent", reason)
    text = reason.encode("utf-8")[: max(capacity - 1, 0)]
    if capacity > 0:
        ctypes.memmove(buffer, text + b"\0", len(text) + 1)
    return TOKEN_FAILED


class LogForwarder:
    """Hands Ferry's log lines to ``log(level, message)`` (levels of the logging module)."""

    def __init__(self, log: Callable[[int, str], Any]) -> None:
        self._log = log
        self.c_function = LogCallback(self._forward)

    def _forward(self, user_data: Any, level: int, message: int, size: int) -> None:
        try:
            text = ctypes.string_at(message, size).decode("utf-8", "replace")
            self._log(_LOG_LEVELS.get(level, logging.INFO), text)
        except Exception:  # noqa: BLE001 - a log hook must not stop the client
            logger.exception("the log callback raised")


class Hooks:
    """Asks the app's hooks inside the sync (ferry_hook_callback), answering
    as hook_forms.h reads it.

    before_push(write: Mutation) and after_pull(change: PulledChange) return
    None (keep it), {"value": v} (push or store v instead) or {"refuse":
    reason} (a dead letter with that reason; a pulled change kept out).
    before_run(reason, direction) returns False to postpone the run. A hook
    that raises or answers otherwise fails the run, and nothing is lost; the
    exception is logged on the "ferry" logger.
    """

    # ferry_hook_point: the C API's bits, and the option each comes from.
    _NAMES = {1: "before_push", 2: "after_pull", 4: "before_run"}

    def __init__(
        self,
        before_push: Optional[Callable[[Mutation], Any]],
        after_pull: Optional[Callable[[PulledChange], Any]],
        before_run: Optional[Callable[[str, str], Any]],
    ) -> None:
        self._hooks = {1: before_push, 2: after_pull, 4: before_run}
        self.points = sum(point for point, hook in self._hooks.items() if hook is not None)
        self.c_function = HookCallback(self._answer)

    def _answer(self, user_data: Any, point: int, input_json: int, size: int, answer: int) -> None:
        text = self._decide(point, json.loads(ctypes.string_at(input_json, size))).encode("utf-8")
        library.ferry_hook_answer_set(answer, slice_of(text), None)

    def _decide(self, point: int, given: dict[str, Any]) -> str:
        name = self._NAMES.get(point, f"hook {point}")
        hook = self._hooks.get(point)
        try:
            if hook is None:
                raise LookupError(f"no hook for point {point}")
            if point == 4:
                postponed = hook(given["reason"], given["direction"]) is False
                return '{"refuse":"postponed"}' if postponed else '{"keep":true}'
            if point == 1:
                return _hook_answer(name, hook(Mutation.from_json(given)))
            return _hook_answer(name, hook(PulledChange(given["collection"], given["key"], given["value"])))
        except Exception as error:  # noqa: BLE001 - reported to Ferry as the run's error
            logger.exception("the %s hook raised", name)
            return json.dumps({"error": f"{name} raised {type(error).__name__}: {error}"})


def _hook_answer(name: str, answer: Any) -> str:
    if answer is None:
        return '{"keep":true}'
    if isinstance(answer, dict) and "refuse" in answer:
        return json.dumps({"refuse": str(answer["refuse"])})
    if isinstance(answer, dict) and "value" in answer:
        return json.dumps({"value": answer["value"]}, allow_nan=False)
    raise TypeError(f"{name} must return None, {{'value': v}} or {{'refuse': reason}}, got {answer!r}")


class ConflictResolver:
    """Asks the app's conflict_resolver(ConflictInput) for each conflict in a
    collection whose strategy is "custom" (ferry_conflict_resolver_callback),
    answering as the C API reads it: a document is pushed as a new write,
    None deletes, DEFER keeps the conflict open for resolve_conflict(). A
    resolver that raises, or returns what is not JSON, keeps the server's
    document (the sync.conflict event says "custom_failed: ..."); the
    exception is logged on the "ferry" logger.
    """

    def __init__(self, resolve: Callable[[ConflictInput], Any]) -> None:
        self._resolve = resolve
        self.c_function = ConflictResolverCallback(self._answer)

    def _answer(self, user_data: Any, input_json: int, size: int, answer: int) -> None:
        text = self._decide(json.loads(ctypes.string_at(input_json, size))).encode("utf-8")
        library.ferry_conflict_answer_set(answer, slice_of(text), None)

    def _decide(self, given: dict[str, Any]) -> str:
        try:
            decided = self._resolve(ConflictInput.from_json(given))
            if decided is DEFER:
                return '{"deferred":true}'
            if decided is None:
                return '{"deleted":true}'
            return json.dumps({"value": decided}, allow_nan=False)
        except Exception as error:  # noqa: BLE001 - reported to Ferry, which keeps the server's document
            logger.exception("the conflict resolver raised")
            return json.dumps({"error": f"conflict_resolver raised {type(error).__name__}: {error}"})


class Listeners:
    """Python listeners of one client, each registered with the C API under a
    token that comes back as the callback's user_data.

    One C registration per Python listener, so that the C API's promise holds:
    once remove returns, the listener is not running and never runs again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_token = 1
        # token -> (event type, or None for every change of subscribe(); listener)
        self._by_token: dict[int, tuple[Optional[str], Callable[[Any], Any]]] = {}
        self.c_function = EventCallback(self._deliver)

    def add(self, event_type: Optional[str], listener: Callable[[Any], Any]) -> int:
        with self._lock:
            token = self._next_token
            self._next_token += 1
            self._by_token[token] = (event_type, listener)
        return token

    def find(self, event_type: str, listener: Callable[[Any], Any]) -> Optional[int]:
        with self._lock:
            for token, registered in self._by_token.items():
                if registered == (event_type, listener):
                    return token
        return None

    def discard(self, token: int) -> None:
        with self._lock:
            self._by_token.pop(token, None)

    def _deliver(self, user_data: Optional[int], event_json: int, size: int) -> None:
        registered = self._by_token.get(user_data or 0)
        if registered is None:
            return
        event_type, listener = registered
        try:
            event = json.loads(ctypes.string_at(event_json, size))
            if event_type is None:
                listener(event_detail("change", event))
            elif event.get("type") == event_type:
                listener(event_detail(event_type, event))
        except Exception:  # noqa: BLE001 - one listener's failure must not stop the others
            logger.exception("a %s listener raised", event_type or "change")
