"""Calling the C API: error out-parameters become exceptions, buffers become bytes.

Each helper owns the C memory it touches: an error's message and a returned
buffer are copied into Python objects and released before returning, on
success and on failure alike.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Optional

from ._library import Buffer, Error, Slice, library
from .errors import error_for


def slice_of(data: bytes) -> Slice:
    """A ferry_slice over bytes; the bytes must outlive the call using it."""
    return Slice(data, len(data))


def _raise_for(result: int, error: Error) -> None:
    try:
        name = library.ferry_result_name(result).decode("ascii")
        message = ""
        if error.message:
            message = ctypes.string_at(error.message, error.message_size).decode("utf-8", "replace")
    finally:
        library.ferry_error_clear(ctypes.byref(error))
    raise error_for(name, message)


def call(function: Callable[..., int], *arguments: Any) -> None:
    """Calls a fallible C function (the error pointer is appended)."""
    error = Error()
    result = function(*arguments, ctypes.byref(error))
    if result != 0:
        _raise_for(result, error)


def call_for_text(function: Callable[..., int], *arguments: Any) -> Optional[bytes]:
    """Calls a C function that fills a ferry_buffer (appended before the
    error): its bytes, or None for the {NULL, 0} of a missing document."""
    buffer = Buffer()
    try:
        call(function, *arguments, ctypes.byref(buffer))
        if not buffer.data:
            return None
        return ctypes.string_at(buffer.data, buffer.size)
    finally:
        library.ferry_buffer_release(ctypes.byref(buffer))
