"""The broker as a sibling of :class:`streaming.transport.UdpTransport`: the pacer's protected datagrams,
per group id, to a :class:`BrokerPublisher` (one topic per group, ~100 ms per message).

The multicast group and the broker carry the very same SRTP packets (same SSRC, sequence, bytes), so a
speaker that hears both paths sees duplicates, which its jitter buffer drops by sequence number.
"""

from __future__ import annotations

from typing import Protocol

from streaming.group import GroupAddress
from streaming.transport import Sink


class Sends(Protocol):
    """The part of :class:`streaming.broker.publisher.BrokerPublisher` a transport needs."""

    def send(self, group_id: str, datagrams: list[bytes], rtcp: bool) -> None: ...

    def end(self, group_id: str) -> None: ...


class BrokerTransport:
    """Serves only destinations that have a group id: a topic is named by the id, not by an address."""

    def __init__(self, publisher: Sends) -> None:
        self._publisher = publisher
        # per group id, the datagrams the pacer queued since the last flush (all on the pacer's thread)
        self._pending: dict[str, list[bytes]] = {}

    def sink(self, group: GroupAddress, group_id: str) -> Sink | None:
        if not group_id:
            return None
        # the list's own append: the cheapest per-packet call in the pacer's hot loop (transport.py)
        return self._pending.setdefault(group_id, []).append

    def flush(self) -> tuple[int, int, int]:
        sent = nbytes = 0
        for group_id, datagrams in list(self._pending.items()):
            if datagrams:
                batch = datagrams[:]
                datagrams.clear()  # the same list object: the sinks handed out keep appending to it
                self._publisher.send(group_id, batch, rtcp=False)
                sent, nbytes = sent + len(batch), nbytes + sum(map(len, batch))
        return sent, nbytes, 0

    def send_rtcp(self, group: GroupAddress, group_id: str, datagram: bytes) -> bool:
        if not group_id:
            return False
        # the RTP queued before it goes first, so that the bundle keeps the sending order
        pending = self._pending.get(group_id)
        if pending:
            batch = pending[:]
            pending.clear()
            self._publisher.send(group_id, batch, rtcp=False)
        self._publisher.send(group_id, [datagram], rtcp=True)  # the publisher flushes on any RTCP
        return True

    def close(self) -> None:
        self.flush()
        for group_id in list(self._pending):
            self._publisher.end(group_id)
