"""Loa's time sync: speakers without NTP learn the sender's wall clock, over RTCP or over the broker.

The exchange is NTP's: the speaker notes its send time t1, the server its receive time t2 and reply
time t3, the speaker the reply's arrival t4. :func:`sync_sample` turns the four into an offset (sender
clock minus local clock) and a round trip, and :class:`OffsetEstimator` filters them with the median of
recent samples (Snapcast's approach: robust to a few delayed replies).

Two transports carry it, and share the speaker half, :class:`TimeSyncClient` (when to ask: :meth:`due`;
what a reply says: :meth:`add`):

- RTCP APP packets named ``LOAT`` (rtcp.py) to the sender's feedback port (``loa speaker --time-sync``):
  :meth:`TimeSyncClient.request` and :meth:`TimeSyncClient.on_packet`; the sender half is :func:`answer`
  (feedback.py's listener). A reply counts only if it echoes a t1 this client sent and has not yet seen
  answered.
- The broker (``loa speaker --broker-time``): JSON requests with a 128-bit nonce on the cluster's own
  ``time/req`` topic, answered on its ``time/resp`` over the same authenticated TLS connection
  (broker/subscriber.py matches each reply to an outstanding nonce; engine/broker/inbox.py answers). Its
  schedule is slower (:data:`BROKER_SCHEDULE`): a province's ~4,000 clusters all ask the one server.

Whoever can answer can move a speaker's clock, and a speaker playing at the wrong time is as good as
silenced. So once the estimate has settled, a sample more than ``jump_bound`` away from it is counted
(:attr:`OffsetEstimator.jumps_ignored`) and ignored, unless ``jump_confirm`` consecutive samples agree
with each other on the new offset: that is a real clock step (the local clock was set), and the estimate
restarts from them (:attr:`OffsetEstimator.steps`). A forged or badly delayed reply therefore moves the
clock by at most the bound, and only a sustained attack (every reply, in a row) can move it further.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass

from streaming import rtcp
from streaming.clock import Clock, ntp_from_wall, wall_from_ntp

JUMP_BOUND = 0.5  # seconds: far beyond any plausible network asymmetry, well below an audible offset
JUMP_CONFIRM = 3  # consecutive agreeing outliers that make a clock step
OUTSTANDING = 16  # RTCP path: requests remembered for matching (~4 s at the slow interval)


@dataclass(frozen=True, slots=True)
class Schedule:
    """``fast_count`` requests every ``fast_interval`` to converge, then one every ``slow_interval``."""

    fast_interval: float
    fast_count: int
    slow_interval: float


# RTCP to a LAN sender: converge within half a second, then follow a drifting clock closely.
RTCP_SCHEDULE = Schedule(0.05, 10, 0.25)
# Over the broker: each request is two MQTT messages through the province's broker and one answer by
# the server, so ask every 2 s once settled (4,000 clusters: 2,000 requests/s). A ±100 ppm clock then
# drifts 0.2 ms between samples; the median of a 9-sample window lags it by at most ~1 ms.
BROKER_SCHEDULE = Schedule(0.1, 10, 2.0)
FAST_INTERVAL = RTCP_SCHEDULE.fast_interval


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
    seconds of samples) so that a drifting local clock is followed, not averaged away. Outliers beyond
    ``jump_bound`` of a settled estimate are ignored (see the module docstring).
    """

    def __init__(
        self, window: int = 9, *, jump_bound: float = JUMP_BOUND, jump_confirm: int = JUMP_CONFIRM
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        if not jump_bound > 0 or jump_confirm < 1:
            raise ValueError("jump_bound must be positive and jump_confirm at least 1")
        self.jump_bound = jump_bound
        self.jump_confirm = jump_confirm
        self.settle = (window + 1) // 2  # samples before the estimate is trusted enough to guard
        self._samples: deque[SyncSample] = deque(maxlen=window)
        self._outliers: list[SyncSample] = []
        self._offset: float | None = None
        self.jumps_ignored = 0  # samples refused for being too far from a settled estimate
        self.steps = 0  # clock steps accepted (jump_confirm agreeing outliers)
        self.impossible = 0  # negative round trips: a clock stepped mid-exchange

    def add(self, sample: SyncSample) -> bool:
        """Takes a sample; False if it was ignored (impossible, or an unconfirmed jump)."""
        if sample.rtt < 0:
            self.impossible += 1
            return False
        settled = self._offset is not None and len(self._samples) >= self.settle
        if settled and abs(sample.offset - (self._offset or 0.0)) > self.jump_bound:
            return self._outlier(sample)
        self._outliers.clear()
        self._samples.append(sample)
        self._offset = self._estimate()
        return True

    def _outlier(self, sample: SyncSample) -> bool:
        if self._outliers and abs(sample.offset - self._outliers[0].offset) > self.jump_bound:
            self._outliers.clear()  # they do not agree on one new offset: a new run starts
        self._outliers.append(sample)
        if len(self._outliers) < self.jump_confirm:
            self.jumps_ignored += 1
            return False
        self.steps += 1
        self._samples.clear()
        self._samples.extend(self._outliers)
        self._outliers.clear()
        self._offset = self._estimate()
        return True

    def _estimate(self) -> float:
        best = sorted(self._samples, key=lambda s: s.rtt)[: max(1, (len(self._samples) + 1) // 2)]
        return statistics.median(s.offset for s in best)

    @property
    def ready(self) -> bool:
        return self._offset is not None

    @property
    def offset(self) -> float:
        if self._offset is None:
            raise ValueError("no time sync samples yet")
        return self._offset

    @property
    def pending_outliers(self) -> int:
        return len(self._outliers)


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
    """Speaker half, whatever carries it: when to ask (:meth:`due`) and what the replies say (:meth:`add`,
    :attr:`offset`). Thread-safe: replies may come on a broker's thread while the playout reads."""

    def __init__(
        self,
        clock: Clock,
        *,
        ssrc: int = 0,
        schedule: Schedule = RTCP_SCHEDULE,
        window: int = 9,
        jump_bound: float = JUMP_BOUND,
        jump_confirm: int = JUMP_CONFIRM,
    ) -> None:
        self.ssrc = ssrc
        self.clock = clock
        self.schedule = schedule
        self.estimator = OffsetEstimator(window, jump_bound=jump_bound, jump_confirm=jump_confirm)
        self.samples = 0  # replies taken into the estimate
        self.unmatched = 0  # RTCP replies that echo no outstanding t1
        self._sent = 0
        self._next: float | None = None
        self._outstanding: deque[int] = deque(maxlen=OUTSTANDING)
        self._lock = threading.Lock()

    def due(self, now: float) -> bool:
        """Whether a request is due at ``now`` (a monotonic time); if so, the next one is scheduled."""
        with self._lock:
            if self._next is not None and now < self._next:
                return False
            self._sent += 1
            s = self.schedule
            self._next = now + (s.fast_interval if self._sent < s.fast_count else s.slow_interval)
            return True

    def add(self, t1: float, t2: float, t3: float, t4: float) -> bool:
        """One answered exchange (wall-clock seconds; t1 and t4 on the local clock). False if ignored."""
        with self._lock:
            taken = self.estimator.add(sync_sample(t1, t2, t3, t4))
            self.samples += taken
            return taken

    @property
    def ready(self) -> bool:
        return self.estimator.ready

    @property
    def offset(self) -> float | None:
        """Sender clock minus local clock; None before the first sample."""
        return self.estimator.offset if self.estimator.ready else None

    # --- over RTCP ---

    def request(self, now: float) -> bytes | None:
        """The RTCP request to send if one is due at ``now`` (a monotonic time), else None."""
        if not self.due(now):
            return None
        t1 = ntp_from_wall(self.clock.now())
        with self._lock:
            self._outstanding.append(t1)
        return rtcp.serialize(rtcp.time_request(self.ssrc, t1))

    def on_packet(self, packet: rtcp.Packet, arrival: float) -> bool:
        """Takes a reply that arrived at ``arrival`` (local clock); False if ``packet`` is not a reply to
        an outstanding request (each request is answered once: a replayed reply is unmatched)."""
        if not (isinstance(packet, rtcp.AppPacket) and packet.name == rtcp.LOA_TIME and packet.subtype == 1):
            return False
        try:
            t1, t2, t3 = rtcp.parse_time(packet)
        except ValueError:
            return False
        with self._lock:
            if t1 not in self._outstanding:
                self.unmatched += 1
                return False
            self._outstanding.remove(t1)
        return self.add(wall_from_ntp(t1), wall_from_ntp(t2), wall_from_ntp(t3), arrival)
