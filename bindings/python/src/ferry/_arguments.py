"""Argument checks for Client's calls, made before anything reaches the C API.

As in the web package (web/src/arguments.ts): a wrong type is a TypeError
naming the argument; values the engine owns (an empty collection name, a
patch that is not an object, null as a document) are checked by the engine
and come back as InvalidArgumentError ("invalid_argument").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from .errors import InvalidArgumentError

_WRITE_OPS = ("put", "patch", "delete")
_MAX_UNSIGNED_64 = 2**64 - 1


def _describe(value: Any) -> str:
    return type(value).__name__


def require_string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {_describe(value)}")
    return value


def require_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {_describe(value)}")
    return value


def require_callable(value: Any, name: str) -> Callable[..., Any]:
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {_describe(value)}")
    return value


def _require_integer(value: Any, name: str) -> int:
    # bool is an int subclass, but True as a count is a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    return value


def headers(value: Any, name: str) -> list[tuple[bytes, bytes]]:
    """Custom request headers as UTF-8 (name, value) pairs. Only the types are
    checked here; which headers are allowed is libferry's rule, checked at
    open (a FerryError "invalid_argument" that never quotes a value)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of str to str, got {_describe(value)}")
    pairs = []
    for header, text in value.items():
        require_string(header, f"{name} key")
        require_string(text, f"{name}[{header!r}]")
        pairs.append((utf8(header, f"{name} key"), utf8(text, f"{name}[{header!r}]")))
    return pairs


def collection_names(value: Any, name: str) -> list[bytes]:
    """A list of collection names as UTF-8. Which names are valid is
    libferry's rule, checked at open (InvalidArgumentError)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of str, got {_describe(value)}")
    return [utf8(require_string(item, f"{name}[{i}]"), f"{name}[{i}]") for i, item in enumerate(value)]


def retention_rules(value: Any, name: str) -> list[tuple[bytes, int, int]]:
    """{collection: {"max_age_ms": int, "max_count": int}} as (collection,
    max_age_ms, max_count), 0 for a bound left out. Which collection names
    are valid, and that a rule has a bound, is libferry's rule (at open)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of collection to rule, got {_describe(value)}")
    rules = []
    for collection, rule in value.items():
        where = f"{name}[{collection!r}]"
        require_string(collection, f"{name} key")
        if not isinstance(rule, Mapping):
            raise TypeError(f"{where} must be a dict with max_age_ms and/or max_count, got {_describe(rule)}")
        unknown = set(rule) - {"max_age_ms", "max_count"}
        if unknown:
            raise ValueError(f"{where} has unknown members {sorted(map(str, unknown))}")
        max_age_ms = require_milliseconds(rule.get("max_age_ms", 0), f"{where}['max_age_ms']", allow_zero=True)
        max_count = require_count(rule.get("max_count", 0), f"{where}['max_count']")
        rules.append((utf8(collection, f"{name} key"), max_age_ms, max_count))
    return rules


def require_count(value: Any, name: str) -> int:
    """A non-negative int (a limit, where 0 means none; a seq; a size)."""
    value = _require_integer(value, name)
    if not 0 <= value <= _MAX_UNSIGNED_64:
        raise ValueError(f"{name} must be between 0 and 2**64 - 1, got {value}")
    return value


# ferry_sync_direction's values (ferry.h).
_SYNC_DIRECTIONS = {"both": 0, "push": 1, "pull": 2}


def require_sync_direction(value: Any) -> int:
    """A run's direction, "push", "pull" or "both", as its C enum value."""
    if not isinstance(value, str):
        raise TypeError(f"direction must be a str, got {type(value).__name__}")
    if value not in _SYNC_DIRECTIONS:
        raise ValueError(f"direction must be 'push', 'pull' or 'both', got {value!r}")
    return _SYNC_DIRECTIONS[value]


def require_milliseconds(value: Any, name: str, allow_zero: bool = False) -> int:
    """A duration in ms for an int64 field: positive (or zero when allowed)."""
    value = _require_integer(value, name)
    lowest = 0 if allow_zero else 1
    if not lowest <= value < 2**63:
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}")
    return value


def require_path(value: Any, name: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {_describe(value)}")
    path = os.fspath(value)
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a text path, got bytes")
    return path


def utf8(text: str, name: str) -> bytes:
    """UTF-8 bytes of a str; a lone surrogate (not encodable) is an invalid argument."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidArgumentError("invalid_argument", f"{name} is not valid UTF-8: {error}") from None


def json_text(value: Any, name: str) -> bytes:
    """JSON text of a value: a TypeError for what JSON cannot hold (a set, an
    object), an InvalidArgumentError for NaN, infinity or a cycle."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except TypeError as error:
        raise TypeError(f"{name} is not JSON: {error}") from None
    except (ValueError, RecursionError) as error:
        raise InvalidArgumentError("invalid_argument", f"{name} is not JSON: {error}") from None
    return utf8(text, name)


def write_item(op: str, collection: Any, key: Any, value: Any, prefix: str = "") -> dict[str, Any]:
    """One write in the C API's batch form, its collection and key checked."""
    require_string(collection, f"{prefix}collection")
    require_string(key, f"{prefix}key")
    item = {"op": op, "collection": collection, "key": key}
    if op != "delete":
        item["value"] = value
    return item


def write_batch(writes: Any) -> list[dict[str, Any]]:
    """A batch of writes (mappings with op, collection, key and value) checked for shape."""
    if isinstance(writes, (str, bytes, Mapping)) or not isinstance(writes, Sequence):
        raise TypeError(f"writes must be a list of mappings, got {_describe(writes)}")
    batch = []
    for index, write in enumerate(writes):
        prefix = f"writes[{index}]."
        if not isinstance(write, Mapping):
            raise TypeError(f"writes[{index}] must be a mapping, got {_describe(write)}")
        op = write.get("op")
        if op not in _WRITE_OPS:
            raise TypeError(f"{prefix}op must be put, patch or delete, got {op!r}")
        if op != "delete" and "value" not in write:
            raise TypeError(f"{prefix}value is required for {op}")
        batch.append(write_item(op, write.get("collection"), write.get("key"), write.get("value"), prefix))
    return batch
