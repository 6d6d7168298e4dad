"""One place that turns the core's exceptions into gRPC status codes with a message naming the field.

Servicers stay thin: they convert messages and call plain objects; whatever those raise is mapped here,
so a bad request never crashes the server and never returns UNKNOWN.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc

log = logging.getLogger(__name__)


class NotFound(LookupError):
    """A named thing (voice, group, broadcast) does not exist. The message names the field."""


class AlreadyExists(Exception):
    pass


class Conflict(Exception):
    """The request contradicts the state (an idempotency key reused for another request...)."""


class Exhausted(Exception):
    """Bounded queues are full; the caller should retry after the hinted delay."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# Checked in order: the first match wins. Others register theirs with register_error().
_MAPPING: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (Exhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (PermissionError, grpc.StatusCode.PERMISSION_DENIED),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (ValueError, grpc.StatusCode.INVALID_ARGUMENT),
]


def register_error(exc: type[BaseException], code: grpc.StatusCode) -> None:
    """Maps a component's exception type (checked before the built-in ones)."""
    _MAPPING.insert(0, (exc, code))


def status_for(exc: BaseException) -> grpc.StatusCode | None:
    for kind, code in _MAPPING:
        if isinstance(exc, kind):
            return code
    return None


F = TypeVar("F", bound=Callable[..., Any])


def _abort(context: grpc.ServicerContext, exc: BaseException) -> None:
    code = status_for(exc)
    if code is None:
        log.exception("internal error", exc_info=exc)
        context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")
    if isinstance(exc, Exhausted):
        context.set_trailing_metadata((("retry-after-ms", str(int(exc.retry_after_s * 1000))),))
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    context.abort(code, bounded(message))


MAX_DETAIL_BYTES = 1000  # UTF-8; gRPC percent-encodes non-ASCII bytes, so at most 3000 on the wire


def bounded(message: str) -> str:
    """Messages quote what the caller sent; a quoted 10 kB id would push the status past the 8 KiB that
    gRPC clients accept in trailers, and the caller would see RESOURCE_EXHAUSTED instead of the answer."""
    raw = message.encode()
    if len(raw) <= MAX_DETAIL_BYTES:
        return message
    return raw[: MAX_DETAIL_BYTES - 40].decode(errors="ignore") + f"… ({len(message)} characters in all)"


def handles_errors(method: F) -> F:
    """Wraps a unary or server-streaming servicer method so that exceptions become statuses."""

    @functools.wraps(method)
    def unary(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except Exception as exc:
            if _is_abort(exc):
                raise
            _abort(context, exc)

    @functools.wraps(method)
    def streaming(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            yield from method(self, request, context)
        except Exception as exc:
            if _is_abort(exc):
                raise
            _abort(context, exc)

    return streaming if inspect.isgeneratorfunction(method) else unary  # type: ignore[return-value]


@contextmanager
def field_named(field: str, *kinds: type[BaseException]) -> Iterator[None]:
    """Puts ``field: `` before the message of a ``kinds`` exception raised inside (same type, same status),
    for core errors that say what is wrong but not which request field it came from."""
    try:
        yield
    except kinds as exc:
        if exc.args and isinstance(exc.args[0], str) and not exc.args[0].startswith(f"{field}:"):
            exc.args = (f"{field}: {exc.args[0]}", *exc.args[1:])
        raise


def _is_abort(exc: BaseException) -> bool:
    # context.abort() raises a plain Exception subclass private to grpc; let it through untouched.
    return type(exc).__module__.startswith("grpc")
