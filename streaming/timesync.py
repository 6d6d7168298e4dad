"""Loa's time sync, both halves: speakers without NTP ask the sender for its wall clock.

The exchange is NTP's, carried in RTCP APP packets named ``LOAT`` (rtcp.py): the speaker sends its
send time t1 (subtype 0) to the sender's feedback port; the sender answers t1 with its receive time t2
and reply time t3 (subtype 1); the speaker stamps the reply's arrival t4. :func:`sync_sample` turns the
four into an offset (sender clock minus local clock) and a round trip, and :class:`OffsetEstimator`
filters them with the median of recent samples (Snapcast's approach: robust to a few delayed replies).

The sender half is :func:`answer` (run by feedback.py's listener on each packet it receives); the
speaker half is :class:`TimeSyncClient` (run by the speaker agent's network thread).
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

from streaming import rtcp
from streaming.clock import Clock, ntp_from_wall, wall_from_ntp

FAST_INTERVAL = 0.05  # the first requests: converge within half a second of starting
FAST_REQUESTS = 10
SLOW_INTERVAL = 0.25  # then keep following a drifting local clock


@dataclass(frozen=True, slots=True)
class SyncSample:
    offset: float  # server clock minus local clock
    rtt: float


def sync_sample(t1: float, t2: float, t3: float, t4: float) -> SyncSample:
    """NTP's four timestamps: t1 request sent (local), t2 received (server), t3 replied (server), t4 back."""
    return SyncSample(offset=((t2 - t1) + (t3 - t4)) / 2, rtt=(t4 - t1) - (t3 - t2))


class OffsetEstimator:
    """Median of the recent samples' offsets, preferring the half with the shortest round trips.

    A reply delayed on one leg shifts its offset by half the extra delay; those have long round trips,
    so dropping the slower half before the median removes most of them. The window is short (a few
    seconds of samples) so that a drifting local clock is followed, not averaged away.
    """

    def __init__(self, window: int = 9) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._samples: deque[SyncSample] = deque(maxlen=window)

    def add(self, sample: SyncSample) -> None:
        if sample.rtt < 0:
            return  # impossible round trip: a clock stepped mid-exchange
        self._samples.append(sample)

    @property
    def ready(self) -> bool:
        return bool(self._samples)

    @property
    def offset(self) -> float:
        if not self._samples:
            raise ValueError("no time sync samples yet")
        best = sorted(self._samples, key=lambda s: s.rtt)[: max(1, (len(self._samples) + 1) // 2)]
        return statistics.median(s.offset for s in best)


def answer(packet: rtcp.Packet, received: float, now: float) -> bytes | None:
    """Sender half: the reply (one serialized RTCP packet) to a speaker's time request received at
    ``received`` and answered at ``now`` (sender's wall clock); None if ``packet`` is no valid request."""
    if not (isinstance(packet, rtcp.AppPacket) and packet.name == rtcp.LOA_TIME and packet.subtype == 0):
        return None
    try:
        (t1,) = rtcp.parse_time(packet)
    except ValueError:
        return None
    return rtcp.serialize(rtcp.time_reply(0, t1, ntp_from_wall(received), ntp_from_wall(now)))


class TimeSyncClient:
    """Speaker half: when to ask (:meth:`request`) and what the replies say (:attr:`estimator`)."""

    def __init__(self, ssrc: int, clock: Clock, window: int = 9) -> None:
        self.ssrc = ssrc
        self.clock = clock
        self.estimator = OffsetEstimator(window)
        self._sent = 0
        self._next: float | None = None

    def request(self, now: float) -> bytes | None:
        """The request to send if one is due at ``now`` (a monotonic time), else None."""
        if self._next is not None and now < self._next:
            return None
        t1 = ntp_from_wall(self.clock.now())
        self._sent += 1
        self._next = now + (FAST_INTERVAL if self._sent < FAST_REQUESTS else SLOW_INTERVAL)
        return rtcp.serialize(rtcp.time_request(self.ssrc, t1))

    def on_packet(self, packet: rtcp.Packet, arrival: float) -> bool:
        """Takes a reply that arrived at ``arrival`` (local clock); False if ``packet`` is not one."""
        if not (isinstance(packet, rtcp.AppPacket) and packet.name == rtcp.LOA_TIME and packet.subtype == 1):
            return False
        try:
            t1, t2, t3 = rtcp.parse_time(packet)
        except ValueError:
            return False
        self.estimator.add(sync_sample(wall_from_ntp(t1), wall_from_ntp(t2), wall_from_ntp(t3), arrival))
        return True
