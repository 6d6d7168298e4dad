"""Binding the gRPC listen address, refusing one that another server already holds.

gRPC sets SO_REUSEPORT by default, so a second `loa serve` on a busy TCP port starts silently and the
kernel splits the clients between the two (with different token stores: "unknown token" for some of
them). The server is therefore built with the channel option ``grpc.so_reuseport`` = 0 (:data:`OPTIONS`)
and a bind failure becomes a ValueError naming the address. A unix socket path is worse: gRPC unlinks
an existing socket file and binds a new one, so the second server takes the name from the first; the
path is probed first, and refused when a server answers there (a stale file is replaced as before).
:func:`check_free` runs before the server opens its store, so a refused second server touches nothing.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from pathlib import Path

import grpc

OPTIONS = (("grpc.so_reuseport", 0),)


def _unix_path(listen: str) -> Path | None:
    """The file of a ``unix:PATH`` / ``unix://PATH`` address; None for TCP and abstract sockets."""
    if not listen.startswith("unix:") or listen.startswith("unix-abstract:"):
        return None
    return Path(listen.removeprefix("unix:").removeprefix("//"))


def _answers(path: Path) -> bool:
    """Whether a process accepts connections on the unix socket file ``path``."""
    with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False  # refused (stale file), not a socket, or gone
        return True


def _tcp(listen: str) -> tuple[str, int] | None:
    """(host, port) of a TCP listen address (``HOST:PORT``, ``[V6]:PORT``); None when not one."""
    if listen.startswith(("unix:", "unix-abstract:", "vsock:")):
        return None
    host, sep, port = listen.removeprefix("dns:").removeprefix("ipv4:").removeprefix("ipv6:").rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "0.0.0.0", int(port)


def _tcp_in_use(host: str, port: int) -> bool:
    """Whether binding (host, port) fails as in use, the way gRPC binds (SO_REUSEADDR, no SO_REUSEPORT)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return False  # not resolvable: gRPC's own bind reports it
    for family, kind, proto, _name, address in infos:
        with contextlib.closing(socket.socket(family, kind, proto)) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def check_free(listen: str) -> None:
    """Raises ValueError naming ``listen`` when another server holds it. Called before the server opens
    its state, so a second `loa serve` leaves the first one's store alone."""
    path = _unix_path(listen)
    if path is not None and path.exists() and _answers(path):
        raise ValueError(
            f"listen {listen}: another server is already listening on this socket "
            "(is another `loa serve` running with this address?)"
        )
    tcp = _tcp(listen)
    if tcp is not None and tcp[1] != 0 and _tcp_in_use(*tcp):
        raise ValueError(f"listen {listen}: the address is already in use (is another `loa serve` running?)")


def bind(server: grpc.Server, listen: str, credentials: grpc.ServerCredentials | None = None) -> int:
    """Adds ``listen`` to ``server`` (TLS with ``credentials``); returns the port (1 for unix sockets).
    Raises ValueError naming the address when another process holds it or it cannot be bound."""
    check_free(listen)  # again: another server may have bound it since
    try:
        if credentials is not None:
            return server.add_secure_port(listen, credentials)
        return server.add_insecure_port(listen)
    except RuntimeError:
        raise ValueError(
            f"listen {listen}: cannot bind: the address is in use (is another `loa serve` running?) "
            "or is not an address of this machine"
        ) from None
