"""Interceptors that apply to every RPC: per-RPC counts and latency for /metrics (every service, health and
reflection included), INVALID_ARGUMENT for request bytes that are not the method's message, and the
status for whatever a servicer raises."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from engine.api.errors import abort, is_abort
from engine.metrics import ServerMetrics
from streaming.logsetup import Repeats

log = logging.getLogger("engine.api.calls")
# statuses that mean the server refused the call (the caller's fault or its limits), logged at WARNING
REFUSED = frozenset(
    {
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "RESOURCE_EXHAUSTED",
    }
)
_TOKEN = re.compile(r"loa_[A-Za-z0-9_\-]+")


def refused_call(repeats: Repeats, method: str, status: str, details: str | bytes | None) -> None:
    """One WARNING per (method, status) per window; a token in the details never reaches the log."""
    if isinstance(details, bytes):  # grpc's context keeps them encoded
        details = details.decode("utf-8", "replace")
    text = _TOKEN.sub("loa_<redacted>", details or "")[:300]
    message = f"refused {method}: {status}" + (f": {text}" if text else "")
    repeats.event(logging.WARNING, "call.refused", message, (method, status), method=method, status=status,
                  details=text)  # fmt: skip


Unary = Callable[[Any, grpc.ServicerContext], Any]
Streaming = Callable[[Any, grpc.ServicerContext], Iterator[Any]]


def _short(method: str) -> str:
    return method.rsplit("/", 2)[-2].rsplit(".", 1)[-1] + "." + method.rsplit("/", 1)[-1]


def _rewrap(
    handler: Any,
    unary: Callable[[Unary], Unary],
    stream: Callable[[Streaming], Streaming],
    deserializer: Callable[[bytes], Any] | None = None,
) -> Any:
    """The handler with its unary-unary or unary-stream behaviour wrapped (client-streaming ones, which
    Loa has none of, are left as they are); ``deserializer`` replaces the request's when given."""
    parse = deserializer or handler.request_deserializer
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            unary(handler.unary_unary), parse, handler.response_serializer
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            stream(handler.unary_stream), parse, handler.response_serializer
        )
    return handler


class MetricsInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics
        self._repeats = Repeats(log)  # a token guessed in a loop: a line a window, with the count

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        name = _short(details.method)
        metrics = self._metrics

        def observe(context: grpc.ServicerContext, started: float) -> None:
            code = context.code() if hasattr(context, "code") else None
            label = code.name if isinstance(code, grpc.StatusCode) else "OK"
            metrics.rpc_total.labels(name, label).inc()
            metrics.rpc_seconds.labels(name).observe(time.perf_counter() - started)
            if label in REFUSED:
                details = context.details() if hasattr(context, "details") else ""
                refused_call(self._repeats, name, label, details)

        def unary(inner: Unary) -> Unary:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                started = time.perf_counter()
                try:
                    return inner(request, context)
                finally:
                    observe(context, started)

            return call

        def stream(inner: Streaming) -> Streaming:
            def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                started = time.perf_counter()
                try:
                    yield from inner(request, context)
                finally:
                    observe(context, started)

            return call

        return _rewrap(handler, unary, stream)


@dataclass(frozen=True)
class _Undecodable:
    """Stands in for a request whose bytes did not parse, so the call can be refused with a status."""

    message: str


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    inner = deserializer

    def parse(raw: bytes) -> Any:
        try:
            return inner(raw)
        except Exception as exc:  # DecodeError, or whatever a deserializer raises on bad bytes
            return _Undecodable(f"request: not a valid message for this method ({exc})")

    return parse


class DecodeInterceptor(grpc.ServerInterceptor):
    """Request bytes that do not parse (corrupt wire format, bad UTF-8 in a string field) get
    INVALID_ARGUMENT. Without it gRPC answers INTERNAL "Exception deserializing request!", which tells the
    caller the server is broken when it is the request. Install it outside the auth interceptor, which
    reads the request's fields."""

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.request_streaming:
            return handler

        def check(request: Any, context: grpc.ServicerContext) -> None:
            if isinstance(request, _Undecodable):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)

        def unary(inner: Unary) -> Unary:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                check(request, context)
                return inner(request, context)

            return call

        def stream(inner: Streaming) -> Streaming:
            def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                check(request, context)
                yield from inner(request, context)

            return call

        return _rewrap(handler, unary, stream, _lenient(handler.request_deserializer))


class ErrorInterceptor(grpc.ServerInterceptor):
    """Whatever a servicer raises becomes its status through engine.api.errors (one table, one message
    style). Install it innermost, next to the servicers: the metrics interceptor outside it then counts
    the status it set."""

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.request_streaming:
            return handler

        def unary(inner: Unary) -> Unary:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return inner(request, context)
                except Exception as exc:
                    if is_abort(exc):
                        raise
                    abort(context, exc)

            return call

        def stream(inner: Streaming) -> Streaming:
            def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    yield from inner(request, context)
                except Exception as exc:
                    if is_abort(exc):
                        raise
                    abort(context, exc)

            return call

        return _rewrap(handler, unary, stream)
