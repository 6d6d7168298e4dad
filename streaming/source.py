"""Where a speaker's datagrams come from: :class:`UdpSource` reads the groups' multicast sockets.

A source only receives; the speaker agent stamps each datagram's arrival and passes it to its ingress
(:meth:`streaming.receiver.SpeakerAgent.deliver`), so another source (a broker subscription, say) can
feed the same path by calling that with the same ``(group, datagram, source address)``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence

from streaming.ingress import MAX_DATAGRAM
from streaming.sdp import GroupSpec

RECEIVE_BUFFER = 1 << 20  # bytes of kernel receive buffer per socket (capped by net.core.rmem_max)

Datagram = tuple[str, bytes, tuple[str, int]]  # (group "ADDR:PORT", datagram, source address)


class UdpSource:
    """One socket per group port (RTP and RTCP), bound to the group and joined on ``interface``."""

    def __init__(self, groups: Sequence[GroupSpec], interface: str = "0.0.0.0") -> None:
        self.interface = interface
        self._groups: dict[socket.socket, str] = {}
        for group in groups:
            for port in (group.port, group.port + 1):
                self._groups[self._join(group.address, port)] = f"{group.address}:{group.port}"

    @property
    def sockets(self) -> list[socket.socket]:
        """For the caller's ``select``: a ready one is read with :meth:`read`."""
        return list(self._groups)

    def read(self, sock: socket.socket) -> Datagram | None:
        """One datagram of a ready socket; None if the read failed."""
        try:
            data, source = sock.recvfrom(MAX_DATAGRAM)
        except OSError:
            return None
        return self._groups[sock], data, source

    def close(self) -> None:
        for sock in self._groups:
            sock.close()

    def _join(self, address: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.bind((address, port))
        membership = socket.inet_aton(address) + socket.inet_aton(self.interface)
        with contextlib.suppress(OSError):  # a unicast address: nothing to join
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        return sock
