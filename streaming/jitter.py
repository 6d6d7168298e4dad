"""A stream's jitter buffer, keyed by RTP timestamp, and its decoder: the packets of one SSRC → samples.

Packets are stored by extended (wrap-free) RTP timestamp as they arrive, in any order. The playout asks
for samples by RTP time; frames are decoded in order just before they are needed, a missing frame
is rebuilt from the next packet's in-band FEC when that packet is there, else concealed (PLC) for up
to ``MAX_CONCEALED`` frames, then silence until packets return. Nothing here reads a clock: arrival
times are passed in, so every case (reorder, duplicate, late, loss, wrap, outage) is testable as data.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from streaming.clock import MediaClock
from streaming.opus import OpusDecoder
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES, RtpPacket, Unwrapper

MAX_CONCEALED = 5  # 100 ms of PLC; longer gaps are silence (PLC would only drone on)
MAX_BUFFERED = 1500  # 30 s of frames waiting to play: the longest playout delay is 10 s
PACKET, FEC, PLC, SILENCE = "packet", "fec", "plc", "silence"


@dataclass(slots=True)
class ReceptionStats:
    """RFC 3550 A.3/A.8 bookkeeping for receiver reports."""

    base_seq: int | None = None
    max_seq: int = 0
    received: int = 0
    expected_prior: int = 0
    received_prior: int = 0
    jitter: float = 0.0  # RTP units
    _transit: float | None = None

    def update(self, ext_seq: int, rtp_ts: int, arrival: float) -> None:
        if self.base_seq is None:
            self.base_seq = self.max_seq = ext_seq
        self.max_seq = max(self.max_seq, ext_seq)
        self.received += 1
        transit = arrival * CLOCK_RATE - rtp_ts
        if self._transit is not None:
            self.jitter += (abs(transit - self._transit) - self.jitter) / 16
        self._transit = transit

    @property
    def expected(self) -> int:
        return 0 if self.base_seq is None else self.max_seq - self.base_seq + 1

    @property
    def cumulative_lost(self) -> int:
        return self.expected - self.received

    def interval_fraction_lost(self) -> int:
        """Fraction lost since the previous call, in 1/256 (resets the interval)."""
        expected = self.expected - self.expected_prior
        received = self.received - self.received_prior
        self.expected_prior, self.received_prior = self.expected, self.received
        lost = expected - received
        return 0 if expected <= 0 or lost <= 0 else min(255, (lost << 8) // expected)


@dataclass(slots=True)
class FrameEvent:
    rtp: int  # extended RTP time of the frame's first sample
    kind: str  # packet, fec, plc or silence
    offset: int  # index of that sample in the rendered block (may be negative: began in an earlier block)


@dataclass
class StreamBuffer:
    ssrc: int
    priority: int
    delay: float  # the group's playout delay, seconds
    group: str = ""
    clock: MediaClock | None = None  # from the latest sender report, in extended RTP time
    ended_at: int | None = None  # extended RTP time after the last frame, once a BYE came
    announced_priority: int = 0
    last_arrival: float = 0.0
    first_arrival: float = 0.0
    superseded: bool = False  # a newer SSRC arrived on the same group
    start: int | None = None  # extended RTP time of the first frame received
    stats: ReceptionStats = field(default_factory=ReceptionStats)
    late: int = 0
    duplicates: int = 0
    overflow: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {PACKET: 0, FEC: 0, PLC: 0, SILENCE: 0})
    sr_ntp_middle: int = 0
    sr_arrival: float = 0.0
    source: tuple[str, int] | None = None  # where its sender reports come from: the feedback address

    def __post_init__(self) -> None:
        self._ts = Unwrapper(32)
        self._seq = Unwrapper(16)
        self._packets: dict[int, bytes] = {}
        self._decoder = OpusDecoder()
        self._next: int | None = None  # extended RTP time of the next frame to decode
        self._decoded: deque[tuple[int, np.ndarray, str]] = deque(maxlen=4)
        self._concealed = 0

    @property
    def effective_priority(self) -> int:
        return max(self.priority, self.announced_priority)

    def add(self, packet: RtpPacket, arrival: float) -> str:
        """Stores a packet; returns 'ok', 'duplicate', 'late' or 'overflow' (buffer full: not stored)."""
        ts = self._ts.extend(packet.timestamp)
        self.stats.update(self._seq.extend(packet.sequence), ts, arrival)
        self.last_arrival = arrival
        self.first_arrival = self.first_arrival or arrival
        if self.start is None or (ts < self.start and self._next is None):
            self.start = ts
        if ts in self._packets or any(ts == t and kind == PACKET for t, _, kind in self._decoded):
            self.duplicates += 1
            return "duplicate"
        if self._next is not None and ts < self._next:
            self.late += 1
            return "late"
        if len(self._packets) >= MAX_BUFFERED:  # a source that never plays (no sender report) or floods
            self.overflow += 1
            return "overflow"
        self._packets[ts] = packet.payload
        return "ok"

    def on_sender_report(self, wall: float, rtp_ts: int, ntp_middle: int, arrival: float) -> None:
        self.clock = MediaClock(wall, self._ts.extend(rtp_ts))
        self.sr_ntp_middle, self.sr_arrival = ntp_middle, arrival

    def on_bye(self) -> None:
        highest = max([*self._packets, *(t for t, _, _ in self._decoded)], default=None)
        self.ended_at = (highest + FRAME_SAMPLES) if highest is not None else (self._next or 0)

    def rtp_at(self, server_time: float) -> float | None:
        """The (fractional, extended) RTP time that plays at ``server_time`` on the sender's clock."""
        if self.clock is None:
            return None
        return self.clock.rtp + (server_time - self.delay - self.clock.wall) * CLOCK_RATE

    def covers(self, start: int, n: int) -> np.ndarray:
        """Which of the samples start..start+n-1 belong to this stream (between its first frame and BYE)."""
        index = np.arange(start, start + n)
        mask = index >= (self.start if self.start is not None else index[-1] + 1)
        if self.ended_at is not None:
            mask &= index < self.ended_at
        return mask

    def render(self, start: int, n: int = FRAME_SAMPLES) -> tuple[np.ndarray, np.ndarray, list[FrameEvent]]:
        """Samples for RTP times start..start+n-1, which of them are this stream's, and the frames begun."""
        mask = self.covers(start, n)
        out = np.zeros(n, dtype=np.float32)
        if not mask.any() or self.start is None:
            return out, mask, []
        end = start + n
        if self._next is None or start - self._next > 2 * FRAME_SAMPLES:
            # first render, or after a long stall: begin at the frame holding ``start`` (on the grid)
            first = max(start, self.start)
            self._next = self.start + (first - self.start) // FRAME_SAMPLES * FRAME_SAMPLES
            self._packets = {t: p for t, p in self._packets.items() if t >= self._next}
            self._decoder.reset()
            self._concealed = 0
        events: list[FrameEvent] = []
        while self._next < end and (self.ended_at is None or self._next < self.ended_at):
            frame, kind = self._decode_next()
            self._decoded.append((self._next, frame, kind))
            events.append(FrameEvent(self._next, kind, self._next - start))
            self.counts[kind] += 1
            self._next += FRAME_SAMPLES
        for frame_start, frame, _ in self._decoded:
            lo, hi = max(start, frame_start), min(end, frame_start + FRAME_SAMPLES)
            if lo < hi:
                out[lo - start : hi - start] = frame[lo - frame_start : hi - frame_start]
        return out, mask, events

    def _decode_next(self) -> tuple[np.ndarray, str]:
        assert self._next is not None
        ts = self._next
        for t in [t for t in self._packets if t < ts]:
            del self._packets[t]  # too late to play: arrived after its frame was concealed
            self.late += 1
        payload = self._packets.pop(ts, None)
        if payload is not None:
            try:
                frame = self._decoder.decode(payload)
                self._concealed = 0
                return frame, PACKET
            except ValueError:
                pass  # a corrupt payload is handled as a lost one
        following = self._packets.get(ts + FRAME_SAMPLES)
        if following is not None:
            self._concealed = 0
            return self._decoder.recover(following), FEC
        if self._concealed < MAX_CONCEALED and self._packets_beyond(ts):
            self._concealed += 1
            return self._decoder.conceal(), PLC
        self._concealed += 1
        return np.zeros(FRAME_SAMPLES, dtype=np.float32), SILENCE

    def _packets_beyond(self, ts: int) -> bool:
        """PLC only bridges a gap inside the stream, not the silence after its last packet."""
        return self.ended_at is None or ts < self.ended_at
