"""Speaker side of the broker link: a cluster's media source, presence, play reports and time.

One connection per cluster, with the cluster's own credentials. It subscribes to its groups' media topics
and its own time replies, unbundles each media message and hands every datagram, with the message's
arrival time, to ``on_datagram`` (the speaker's ingress: SRTP unprotect, jitter buffer). The datagrams of
one bundle arrive together, ~100 ms at a time: the playout delay (0.5 s by default) absorbs that.

Presence: the last will is a retained "offline" status, which the broker publishes if the connection dies
without a DISCONNECT; on every connect the agent publishes its retained "online" status. Anything
malformed (a bad bundle, a message on a topic it did not ask for, an unmatched time reply) is counted and
dropped, never raised: a broker is not trusted with the speaker's life.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streaming.broker.bundle import Bundle, Kind
from streaming.broker.client import BrokerClient, Settings, Will
from streaming.broker.messages import PlayReport, State, Status, TimeReply, TimeRequest
from streaming.broker.topics import Topics, check_id

# (group id, datagram, is RTCP, arrival time on the source's clock)
OnDatagram = Callable[[str, bytes, bool, float], None]
# (group id, bulletin, payload) of a retained bulletin delivered ahead; empty payload: cleared (cache.py)
OnAhead = Callable[[str, str, bytes], None]


@dataclass
class SourceCounters:
    bundles: int = 0
    datagrams: int = 0
    malformed: int = 0  # payloads that do not parse: dropped
    unexpected: int = 0  # messages on topics this cluster did not subscribe to
    time_replies: int = 0
    unmatched_replies: int = 0  # no outstanding request with that nonce (late, replayed, forged)


class TimeRequests:
    """Outstanding time requests by nonce; a reply counts once, and only within ``timeout_s``."""

    def __init__(self, timeout_s: float = 10.0, limit: int = 16) -> None:
        self._timeout = timeout_s
        self._limit = limit
        self._outstanding: dict[str, tuple[float, float]] = {}  # nonce -> (t1, sent on monotonic)
        self._lock = threading.Lock()

    def add(self, request: TimeRequest, now: float) -> None:
        with self._lock:
            self._expire(now)
            while len(self._outstanding) >= self._limit:
                del self._outstanding[next(iter(self._outstanding))]
            self._outstanding[request.nonce] = (request.t1, now)

    def match(self, reply: TimeReply, now: float) -> bool:
        with self._lock:
            self._expire(now)
            entry = self._outstanding.pop(reply.nonce, None)
        return entry is not None and entry[0] == reply.t1

    def _expire(self, now: float) -> None:
        for nonce in [n for n, (_, sent) in self._outstanding.items() if now - sent > self._timeout]:
            del self._outstanding[nonce]


class BrokerSource:
    def __init__(
        self,
        settings: Settings,
        topics: Topics,
        groups: Iterable[str],
        on_datagram: OnDatagram,
        *,
        status: Callable[[], Status] | None = None,
        on_time: Callable[[TimeReply, float], None] | None = None,
        on_ahead: OnAhead | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.cluster = check_id(settings.username, "cluster")
        self.topics = topics
        self.groups = tuple(check_id(g, "group") for g in groups)
        self._media = {topics.media(g): g for g in self.groups}
        self._time_reply_topic = topics.time_reply(self.cluster)
        self._on_datagram = on_datagram
        self._status = status or (lambda: Status(State.ONLINE))
        self._on_time = on_time
        self._on_ahead = on_ahead
        self._clock = clock
        self._wall = wall
        self.time_requests = TimeRequests()
        self.counters = SourceCounters()
        self.client = BrokerClient(
            settings,
            self._message,
            will=Will(topics.status(self.cluster), Status.offline().serialize()),
            on_connected=self.publish_status,
        )
        for topic in self._media:
            self.client.subscribe(topic, 0)
        if on_ahead is not None:  # retained, QoS 1: what was published while this cluster was away
            for g in self.groups:
                self.client.subscribe(topics.ahead_filter(g), 1)
        self.client.subscribe(self._time_reply_topic, 0)

    def start(self) -> None:
        self.client.start()

    def stop(self) -> None:
        """Says "offline" itself (a clean DISCONNECT does not trigger the will), then disconnects."""
        if self.client.connected.is_set():
            self.client.publish(self.topics.status(self.cluster), Status.offline().serialize(), 1, True)
        self.client.stop()

    def publish_status(self) -> None:
        self.client.publish(self.topics.status(self.cluster), self._status().serialize(), 1, True)

    def publish_report(self, report: PlayReport) -> bool:
        return self.client.publish(self.topics.report(self.cluster), report.serialize(), 1, False)

    def request_time(self) -> TimeRequest | None:
        request = TimeRequest.new(self._wall())
        self.time_requests.add(request, self._clock())
        if not self.client.publish(self.topics.time_request(self.cluster), request.serialize(), 0, False):
            return None
        return request

    def _message(self, topic: str, payload: bytes) -> None:
        arrival = self._clock()
        group = self._media.get(topic)
        if group is not None:
            self._media_message(group, payload, arrival)
        elif topic == self._time_reply_topic:
            self._time_message(payload)
        elif self._on_ahead is not None and "/ahead/" in topic:
            self._ahead_message(topic, payload)
        else:
            self.counters.unexpected += 1

    def _ahead_message(self, topic: str, payload: bytes) -> None:
        assert self._on_ahead is not None
        try:
            group, bulletin = self.topics.parse_ahead(topic)
        except ValueError:
            group, bulletin = "", ""
        if group not in self.groups:
            self.counters.unexpected += 1
            return
        self._on_ahead(group, bulletin, payload)

    def _media_message(self, group: str, payload: bytes, arrival: float) -> None:
        try:
            bundle = Bundle.parse(payload)
        except ValueError:
            self.counters.malformed += 1
            return
        self.counters.bundles += 1
        for d in bundle.datagrams:
            self.counters.datagrams += 1
            self._on_datagram(group, d.data, d.kind is Kind.RTCP, arrival)

    def _time_message(self, payload: bytes) -> None:
        t4 = self._wall()
        try:
            reply = TimeReply.parse(payload)
        except ValueError:
            self.counters.malformed += 1
            return
        if not self.time_requests.match(reply, self._clock()):
            self.counters.unmatched_replies += 1
            return
        self.counters.time_replies += 1
        if self._on_time is not None:
            self._on_time(reply, t4)
