"""What every ``loa`` command that talks to the running server shares: its connection options, the
connection, how a refused call is printed, and where a command's output goes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        help="host[:port] (port 50051 if none) or unix:PATH (default: LOA_SERVER or 127.0.0.1:50051)",
    )
    parser.add_argument("--token", help="API token (default: LOA_TOKEN)")
    parser.add_argument("--tls-ca", type=Path, help="CA that signed the server's certificate (turns TLS on)")
    parser.add_argument("--tls-cert", type=Path, help="client certificate, for mutual TLS")
    parser.add_argument("--tls-key", type=Path, help="client key, for mutual TLS")
    parser.add_argument(
        "--tz", help="IANA zone to read and show times in (default: the server's, GetServerInfo)"
    )


def server_zone(args: argparse.Namespace, client: Any) -> ZoneInfo:
    """The zone a command reads naive times in and shows times in: --tz, else the server's (asked over
    loa.v1.Server), else, for a server too old to say, this machine's. ValueError naming --tz."""
    from engine.timefmt import machine_zone_name, zone

    if getattr(args, "tz", None):
        return zone(args.tz, "--tz")
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    try:
        info = client.server.GetServerInfo(pb.GetServerInfoRequest(), metadata=client.metadata, timeout=10)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
            raise
        return zone(machine_zone_name())
    return zone(info.time_zone or "UTC", "server time_zone")


def connect(args: argparse.Namespace) -> Any:
    """A :class:`engine.api.client.Client` from the options :func:`add_client_options` added."""
    from engine.api.client import Client

    return Client.connect(
        args.server, args.token, tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key
    )


def rpc_failed(command: str, exc: Any) -> int:
    """Prints a refused call as ``command: CODE: details``, with a hint when it never reached the server;
    the exit status 1."""
    details = exc.details() or ""
    print(f"{command}: {exc.code().name}: {details}{connection_hint(details)}", file=sys.stderr)
    return 1


def connection_hint(details: str) -> str:
    """What to change when a connection failed for a reason gRPC words obscurely: a plaintext client of
    a TLS server only sees "Socket closed", a TLS client of a plaintext server WRONG_VERSION_NUMBER."""
    if "Socket closed" in details:
        return (" (the server may use TLS: give --tls-ca with the CA that signed its certificate, and "
                "--tls-cert/--tls-key if it requires client certificates)")  # fmt: skip
    if "WRONG_VERSION_NUMBER" in details:
        return " (the server speaks plaintext, not TLS: leave out --tls-ca, --tls-cert and --tls-key)"
    if "handshake failed" in details.lower():
        return (" (TLS handshake failed: --tls-ca must be the CA that signed the server's certificate, "
                "and --server a name in it)")  # fmt: skip
    if "Connection refused" in details or "No such file or directory" in details:
        return " (is `loa serve` running there? --server or LOA_SERVER; default 127.0.0.1:50051)"
    return ""


def write_output(text: str, path: str | Path | None, *, private: bool = False) -> None:
    """``text`` to ``path``, or to stdout without one. ``private`` (keys, passwords): mode 0600, also
    when the file existed with another mode."""
    if not path:
        sys.stdout.write(text)
        return
    if not private:
        Path(path).write_text(text, encoding="utf-8")
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode otherwise
