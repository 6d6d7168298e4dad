"""Server side of the media path: a group's datagrams, bundled ~100 ms, to the group's topic at QoS 0.

It takes datagrams as the pacer produces them (already SRTP/SRTCP-protected, in sending order) through
``send(group_id, datagrams, rtcp)``, the shape of the UDP transport's, so that it can become a sibling
transport: the same packets go to the multicast group and to the broker.

A bundle leaves when it holds ``frames_per_bundle`` RTP datagrams (5 x 20 ms = 100 ms), when its oldest
datagram has waited ``max_wait_s``, on any RTCP (a sender report every few seconds, or the BYE that ends a
stream: SRTCP encrypts the BYE, so we cannot tell it from an SR, and flushing on both costs at most one
extra message per RTCP interval), or on ``flush``/``end``/``close``. QoS 0: a late audio frame is worth
nothing, and the receivers conceal a lost bundle as they conceal multicast loss.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from streaming.broker.bundle import MAX_DATAGRAMS, Bundle, Datagram, Kind
from streaming.broker.topics import Topics


class Publishes(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool: ...


@dataclass
class _Pending:
    datagrams: list[Datagram] = field(default_factory=list)
    rtp: int = 0
    since: float = 0.0


@dataclass
class PublisherCounters:
    bundles: int = 0
    datagrams: int = 0
    unsent: int = 0  # bundles the client could not queue (not connected): lost, as QoS 0 allows
    bytes: int = 0


class BrokerPublisher:
    def __init__(
        self,
        client: Publishes,
        topics: Topics,
        *,
        frames_per_bundle: int = 5,
        max_wait_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= frames_per_bundle <= MAX_DATAGRAMS - 2:
            raise ValueError(f"frames_per_bundle {frames_per_bundle} (1..{MAX_DATAGRAMS - 2})")
        self._client = client
        self._topics = topics
        self._frames = frames_per_bundle
        self._max_wait = max_wait_s
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()  # several streams may be paced on several threads
        self.counters = PublisherCounters()

    def send(self, group_id: str, datagrams: list[bytes], rtcp: bool) -> None:
        topic = self._topics.media(group_id)  # ValueError for a bad id, before anything is queued
        kind = Kind.RTCP if rtcp else Kind.RTP
        out: list[bytes] = []
        with self._lock:
            now = self._clock()
            pending = self._pending.setdefault(group_id, _Pending(since=now))
            for data in datagrams:
                if not pending.datagrams:
                    pending.since = now
                pending.datagrams.append(Datagram(kind, data))
                pending.rtp += not rtcp
                if pending.rtp >= self._frames or len(pending.datagrams) >= MAX_DATAGRAMS:
                    out.append(self._take(group_id))
                    pending = self._pending.setdefault(group_id, _Pending(since=now))
            if pending.datagrams and (rtcp or now - pending.since >= self._max_wait):
                out.append(self._take(group_id))
        for payload in out:
            self._publish(topic, payload)

    def poll(self) -> None:
        """Flushes bundles older than ``max_wait_s``: for a caller whose stream paused between sends."""
        now = self._clock()
        with self._lock:
            due = [g for g, p in self._pending.items() if p.datagrams and now - p.since >= self._max_wait]
            out = [(g, self._take(g)) for g in due]
        for group_id, payload in out:
            self._publish(self._topics.media(group_id), payload)

    def flush(self, group_id: str | None = None) -> None:
        with self._lock:
            groups = [group_id] if group_id is not None else list(self._pending)
            out = [(g, self._take(g)) for g in groups if g in self._pending and self._pending[g].datagrams]
        for g, payload in out:
            self._publish(self._topics.media(g), payload)

    def end(self, group_id: str) -> None:
        """The group's stream ended: send what is left and forget the group."""
        self.flush(group_id)
        with self._lock:
            self._pending.pop(group_id, None)

    def close(self) -> None:
        self.flush()

    def _take(self, group_id: str) -> bytes:
        pending = self._pending.pop(group_id)
        payload = Bundle(tuple(pending.datagrams)).serialize()
        self.counters.bundles += 1
        self.counters.datagrams += len(pending.datagrams)
        self.counters.bytes += len(payload)
        return payload

    def _publish(self, topic: str, payload: bytes) -> None:
        if not self._client.publish(topic, payload, 0, False):
            self.counters.unsent += 1
