"""How the pacer's datagrams leave: the :class:`Transport` interface and its UDP multicast implementation.

Interface (what a pacer needs, nothing more)::

    deliver = transport.sink(group)   # once per (stream, destination) at open; None: not served here
    deliver(datagram)                 # per RTP datagram as it falls due (already SRTP-protected)
    transport.flush()                 # after each batch of due datagrams → (sent, bytes, errors)
    transport.send_rtcp(group, datagram) -> bool   # an RTCP compound (SR, BYE), sent at once
    transport.close()

A batch is up to ``FLUSH_EVERY`` (pacer.py) datagrams of many streams due together; queueing them per
datagram and sending at ``flush`` lets :class:`UdpTransport` send a whole batch in one sendmmsg(2) per
socket (mmsg.py) instead of one system call per datagram. A pacer may deliver each destination through
several transports (each gets the same protected datagrams): a sibling such as a broker publisher would
append to a per-group bundle in its sink and, at ``flush``, publish the bundles that have gathered
~100 ms. The sink is a plain function because it runs once per packet in the pacer's hot loop (one call
adds ~0.1 µs to the ~6 µs a packet costs there).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Protocol

from streaming.group import GroupAddress
from streaming.mmsg import DatagramBatch

Sink = Callable[[bytes], None]


class Transport(Protocol):
    def sink(self, group: GroupAddress) -> Sink | None: ...

    def flush(self) -> tuple[int, int, int]: ...

    def send_rtcp(self, group: GroupAddress, datagram: bytes) -> bool: ...

    def close(self) -> None: ...


def set_multicast(sock: socket.socket, group: GroupAddress) -> None:
    """The group's TTL and outgoing interface on a sending socket."""
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, group.ttl)
    if group.interface:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(group.interface))


class UdpTransport:
    """RTP to ``group.port`` and RTCP to ``group.port + 1`` over UDP: one non-blocking socket per (TTL,
    interface), each with a :class:`DatagramBatch`. RTCP leaves from ``rtcp_socket`` when given (the
    sender's feedback port, so that speakers' reports come back there), else from the RTP socket."""

    def __init__(self, rtcp_socket: socket.socket | None = None) -> None:
        self._rtcp_socket = rtcp_socket
        self._rtcp_options: tuple[int, str | None] | None = None
        self._batches: dict[tuple[int, str | None], DatagramBatch] = {}

    def sink(self, group: GroupAddress) -> Sink:
        batch = self._batch_for(group)
        name = batch.address(group.address, group.port)
        queue, names = batch.queued.append, batch.names.append

        def deliver(datagram: bytes) -> None:
            queue(datagram)
            names(name)

        return deliver

    def flush(self) -> tuple[int, int, int]:
        sent = nbytes = errors = 0
        for batch in list(self._batches.values()):  # a copy: open_stream may add a socket meanwhile
            if batch.queued:
                s, n, e = batch.flush()
                sent, nbytes, errors = sent + s, nbytes + n, errors + e
        return sent, nbytes, errors

    def send_rtcp(self, group: GroupAddress, datagram: bytes) -> bool:
        try:
            if self._rtcp_socket is not None:
                if self._rtcp_options != (group.ttl, group.interface):
                    set_multicast(self._rtcp_socket, group)
                    self._rtcp_options = (group.ttl, group.interface)
                self._rtcp_socket.sendto(datagram, group.rtcp)
            else:
                self._batch_for(group).sock.sendto(datagram, group.rtcp)
        except OSError:
            return False
        return True

    def close(self) -> None:
        for batch in self._batches.values():
            batch.sock.close()

    def _batch_for(self, group: GroupAddress) -> DatagramBatch:
        key = (group.ttl, group.interface)
        batch = self._batches.get(key)
        if batch is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            set_multicast(sock, group)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            sock.setblocking(False)
            batch = self._batches[key] = DatagramBatch(sock)
        return batch
