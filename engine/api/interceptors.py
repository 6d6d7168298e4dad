"""Per-RPC counts and latency for /metrics, for every service including health and reflection."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from engine.metrics import ServerMetrics


def _short(method: str) -> str:
    return method.rsplit("/", 2)[-2].rsplit(".", 1)[-1] + "." + method.rsplit("/", 1)[-1]


class MetricsInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics

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

        if handler.unary_unary:
            inner_uu = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                started = time.perf_counter()
                try:
                    return inner_uu(request, context)
                finally:
                    observe(context, started)

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_us = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                started = time.perf_counter()
                try:
                    yield from inner_us(request, context)
                finally:
                    observe(context, started)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler
