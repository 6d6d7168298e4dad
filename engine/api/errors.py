"""The one table from the core's exceptions (engine/errors.py) to gRPC status codes, and the one message
style: ``"field: message"``.

Servicers stay thin: they convert messages, call plain objects and let what those raise go;
``ErrorInterceptor`` (engine/api/interceptors.py) answers every RPC's exception through :func:`abort`,
so a bad request never crashes the server and never returns UNKNOWN. Where a core error names the thing
but not the request field it came from, the servicer wraps the call in :func:`field_named`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import grpc

from engine.errors import AlreadyExists, Conflict, Exhausted, NotFound, Unavailable

log = logging.getLogger(__name__)

# Checked in order, the first match wins: the store's errors are both a StoreError (Unavailable) and a
# kind (NotFound, Conflict...), and the kind decides. Anything else is INTERNAL, logged with its trace.
STATUS: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (Exhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (ValueError, grpc.StatusCode.INVALID_ARGUMENT),
    (PermissionError, grpc.StatusCode.PERMISSION_DENIED),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
)

# What field_named prefixes: the kinds whose messages name a thing, not a request field.
_NAMELESS = (NotFound, AlreadyExists, Conflict)

MAX_DETAIL_BYTES = 1000  # UTF-8; gRPC percent-encodes non-ASCII bytes, so at most 3000 on the wire


def status_for(exc: BaseException) -> grpc.StatusCode | None:
    for kind, code in STATUS:
        if isinstance(exc, kind):
            return code
    return None


def bounded(message: str) -> str:
    """Messages quote what the caller sent; a quoted 10 kB id would push the status past the 8 KiB that
    gRPC clients accept in trailers, and the caller would see RESOURCE_EXHAUSTED instead of the answer."""
    raw = message.encode()
    if len(raw) <= MAX_DETAIL_BYTES:
        return message
    return raw[: MAX_DETAIL_BYTES - 40].decode(errors="ignore") + f"… ({len(message)} characters in all)"


def abort(context: grpc.ServicerContext, exc: BaseException) -> NoReturn:
    """Ends the RPC with the status for ``exc`` (INTERNAL, logged, for an unexpected one)."""
    code = status_for(exc)
    if code is None:
        log.exception("internal error", exc_info=exc)
        context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")
    if isinstance(exc, Exhausted):
        context.set_trailing_metadata((("retry-after-ms", str(int(exc.retry_after_s * 1000))),))
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    context.abort(code, bounded(message))
    raise AssertionError("context.abort returned")  # it raises; grpc's stubs do not say so


def is_abort(exc: BaseException) -> bool:
    """context.abort() raises a plain Exception subclass private to grpc: it must pass through untouched."""
    return type(exc).__module__.startswith("grpc")


@contextmanager
def field_named(field: str) -> Iterator[None]:
    """Puts ``field: `` before the message of a NotFound, AlreadyExists or Conflict raised inside (same
    type, same status), for core errors that say what is wrong but not which request field it came from."""
    try:
        yield
    except _NAMELESS as exc:
        if exc.args and isinstance(exc.args[0], str) and not exc.args[0].startswith(f"{field}:"):
            exc.args = (f"{field}: {exc.args[0]}", *exc.args[1:])
        raise
