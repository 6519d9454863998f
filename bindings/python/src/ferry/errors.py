"""FerryError and its subclasses: every failure the C API reports, with its code.

The codes are the C API's result names (ferry_result_name), which are the
web package's FerryErrorCode spellings ("busy", "invalid_argument", ...),
plus the two the C API adds: "invalid_handle" and "wrong_thread".
Subclasses exist where a caller would catch one case on its own; they also
derive from the built-in exception a Python caller would expect (a malformed
argument is a ValueError, a missing item a LookupError).
"""

from __future__ import annotations


class FerryError(Exception):
    """A failure reported by Ferry, with a stable ``code`` such as "busy"."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})" if message else code)
        self.code = code
        self.message = message


class InvalidArgumentError(FerryError, ValueError):
    """A malformed argument: bad JSON, UTF-8, key, option, or size."""


class ClientClosedError(InvalidArgumentError):
    """The client was closed (as in the web package, the code is "invalid_argument")."""

    def __init__(self, message: str = "the client is closed") -> None:
        super().__init__("invalid_argument", message)


class NotFoundError(FerryError, LookupError):
    """No such failed mutation or listener."""


class BusyError(FerryError):
    """The store is open in another client, in this process or another."""


class UnavailableError(FerryError):
    """The network or the server is unavailable (Ferry retries by itself)."""


class WrongThreadError(FerryError):
    """A blocking call (close, sync_now) made from inside a callback of the same client."""


_CLASS_BY_CODE: dict[str, type[FerryError]] = {
    "invalid_argument": InvalidArgumentError,
    "too_large": InvalidArgumentError,
    "not_found": NotFoundError,
    "busy": BusyError,
    "unavailable": UnavailableError,
    "wrong_thread": WrongThreadError,
}


def error_for(code: str, message: str) -> FerryError:
    """The exception for a C result name and message."""
    if code == "invalid_handle":
        return ClientClosedError(message or "the client is closed")
    return _CLASS_BY_CODE.get(code, FerryError)(code, message)
