"""Wall clock ↔ NTP timestamps ↔ RTP media clock; the clocks speakers run on.

Synchronization rests on one statement: the sample stamped RTP time T plays at ``wall(T) + delay`` on
every speaker, where ``wall(T)`` comes from the sender's RTCP sender reports (an NTP time and the RTP time
of the same instant) and ``delay`` is the group's fixed playout delay. A speaker therefore needs the
sender's wall clock: the system clock when it is NTP/PTP-synced, else Loa's own time sync with the
sender (timesync.py).

Tests and benchmarks give a speaker a :class:`SimulatedClock` (an offset and a drift from the true
clock), so the effect of time sync can be measured against the truth.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from streaming.rtp import CLOCK_RATE, ts_diff

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01


def ntp_from_wall(seconds: float) -> int:
    """Unix seconds → 64-bit NTP timestamp (32.32 fixed point since 1900)."""
    return round((seconds + NTP_EPOCH_OFFSET) * (1 << 32)) & 0xFFFF_FFFF_FFFF_FFFF


def wall_from_ntp(ntp: int) -> float:
    return ntp / (1 << 32) - NTP_EPOCH_OFFSET


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits, as RTCP's LSR field carries them (units of 1/65536 s)."""
    return (ntp >> 16) & 0xFFFF_FFFF


class Clock:
    """The system wall clock. Subclasses distort it for tests; ``true`` undoes the distortion."""

    def now(self) -> float:
        return time.time()

    def true(self, local: float) -> float:
        return local

    def sleep_until(self, local: float) -> None:
        delay = local - self.now()
        if delay > 0:
            time.sleep(delay)


@dataclass
class SimulatedClock(Clock):
    """A clock ``offset`` seconds off the system clock that gains ``drift_ppm`` per million."""

    offset: float = 0.0
    drift_ppm: float = 0.0
    reference: float = 0.0  # the true time at which the offset is exactly ``offset``

    def __post_init__(self) -> None:
        if not self.reference:
            self.reference = time.time()

    def now(self) -> float:
        return self._local(time.time())

    def _local(self, true: float) -> float:
        return true + self.offset + (true - self.reference) * self.drift_ppm * 1e-6

    def true(self, local: float) -> float:
        rate = 1 + self.drift_ppm * 1e-6
        return (local - self.offset + self.reference * (rate - 1)) / rate


@dataclass(frozen=True, slots=True)
class MediaClock:
    """The mapping an RTCP sender report gives: RTP time ``rtp`` is wall time ``wall`` (sender's clock)."""

    wall: float
    rtp: int

    def wall_of(self, rtp_ts: int) -> float:
        """Wall time of a 32-bit RTP timestamp near this mapping (wrap-safe)."""
        return self.wall + ts_diff(rtp_ts, self.rtp) / CLOCK_RATE

    def rtp_at(self, wall: float) -> int:
        return (self.rtp + round((wall - self.wall) * CLOCK_RATE)) & 0xFFFF_FFFF
