"""The impairment relay itself: it forwards, stalls without losing bytes, and cuts like an outage."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.tcp_relay import TcpRelay


def _echo_server() -> tuple[socket.socket, tuple[str, int]]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()


def _echo(conn: socket.socket) -> None:
    with conn, contextlib.suppress(ConnectionError):
        while data := conn.recv(4096):
            conn.sendall(data)


def test_relay_forwards_holds_during_a_stall_and_refuses_during_an_outage() -> None:
    server, address = _echo_server()
    relay = TcpRelay(("127.0.0.1", 0), address).start()
    try:
        client = socket.create_connection(relay.address, timeout=2)
        client.sendall(b"hello")
        assert client.recv(5) == b"hello"

        relay.stall()
        client.sendall(b"held")
        client.settimeout(0.3)
        try:
            early = client.recv(4)
        except TimeoutError:
            early = b""
        assert early == b""  # nothing crosses a stalled link
        relay.restore()
        client.settimeout(2)
        assert client.recv(4) == b"held"  # and nothing is lost

        relay.cut()
        client.settimeout(2)
        try:
            data = client.recv(4)
        except ConnectionResetError:
            data = b""
        assert data == b""
        time.sleep(0.05)
        refused = socket.create_connection(relay.address, timeout=2)
        refused.settimeout(2)
        with contextlib.suppress(ConnectionResetError):
            assert refused.recv(4) == b""
        relay.restore()
        again = socket.create_connection(relay.address, timeout=2)
        again.sendall(b"back")
        assert again.recv(4) == b"back"
    finally:
        relay.close()
        server.close()
