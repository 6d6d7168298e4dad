"""A small client for the loa.v1 API: one channel, a stub per service, and the caller's token on every call.

Used by `loa broadcast`, `make demo` and the tests; content systems can use it as an example.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from engine.api.tls import channel_credentials
from protos.loa.v1 import loa_pb2_grpc

DEFAULT_PORT = 50051
DEFAULT_SERVER = f"127.0.0.1:{DEFAULT_PORT}"


def with_default_port(address: str) -> str:
    """``address`` with Loa's port when it names none: gRPC would otherwise dial 443 (issue #13).
    "localhost" → "localhost:50051", "::1" → "[::1]:50051"; unix: sockets and URIs are left alone."""
    if address.startswith(("unix:", "unix-abstract:")) or "://" in address:
        return address
    if address.startswith("["):
        return address if "]:" in address else f"{address}:{DEFAULT_PORT}"
    if address.count(":") > 1:  # a bare IPv6 address
        return f"[{address}]:{DEFAULT_PORT}"
    return address if ":" in address else f"{address}:{DEFAULT_PORT}"


@dataclass
class Client:
    channel: grpc.Channel
    metadata: tuple[tuple[str, str], ...]
    synthesis: loa_pb2_grpc.SynthesisStub
    broadcasts: loa_pb2_grpc.BroadcastsStub
    groups: loa_pb2_grpc.GroupsStub
    clusters: loa_pb2_grpc.ClustersStub
    server: loa_pb2_grpc.ServerStub
    schedules: loa_pb2_grpc.SchedulesStub

    @classmethod
    def connect(
        cls,
        address: str | None = None,
        token: str | None = None,
        *,
        tls_ca: Path | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        tls: bool = False,
    ) -> Client:
        """address: LOA_SERVER or 127.0.0.1:50051; token: LOA_TOKEN when None. TLS when any tls_* is given."""
        address = with_default_port(address or os.environ.get("LOA_SERVER") or DEFAULT_SERVER)
        token = token if token is not None else os.environ.get("LOA_TOKEN") or None
        if tls or tls_ca or tls_cert:
            channel = grpc.secure_channel(address, channel_credentials(tls_ca, tls_cert, tls_key))
        else:
            channel = grpc.insecure_channel(address)
        # Bearer tokens ride as plain metadata: on a TLS channel or a loopback/unix one only.
        metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        return cls(
            channel=channel,
            metadata=metadata,
            synthesis=loa_pb2_grpc.SynthesisStub(channel),
            broadcasts=loa_pb2_grpc.BroadcastsStub(channel),
            groups=loa_pb2_grpc.GroupsStub(channel),
            clusters=loa_pb2_grpc.ClustersStub(channel),
            server=loa_pb2_grpc.ServerStub(channel),
            schedules=loa_pb2_grpc.SchedulesStub(channel),
        )

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
