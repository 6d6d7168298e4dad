"""What a speaker plays: every received stream placed at its presentation time, the highest priority on top.

The output is a continuous run of samples on a grid fixed to the speaker's clock: output sample ``i``
plays at local time ``i / 48000``. For each 20 ms block the playout asks every stream for the RTP times
that present then (``wall(T) + delay`` on the sender's clock, i.e. local time + clock offset), so every
speaker of a group emits the same sample at the same instant, whatever its network delay. Streams are
layered by priority: a sample belongs to the highest-priority stream that covers it (from its first
frame to its BYE), so an emergency stream takes over exactly at its first sample and a lower one
resumes exactly at the emergency's last. Equal priorities: the stream that began first keeps playing,
except that a new SSRC on a group replaces the group's previous stream (a new broadcast).

Like jitter.py, this is pure: datagrams and times come in as arguments (receiver.py does the I/O).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from streaming import rtcp
from streaming.clock import MediaClock, ntp_middle, wall_from_ntp
from streaming.jitter import SILENCE, StreamBuffer
from streaming.rtp import FRAME_SAMPLES, PAYLOAD_TYPE, RtpPacket, is_rtcp
from streaming.sdp import GroupSpec

MAX_STREAMS = 16  # streams a speaker tracks at once (a few groups, each with a stream or two)


@dataclass(frozen=True, slots=True)
class PlayedFrame:
    ssrc: int
    rtp: int  # 32-bit RTP time of the frame's first sample
    index: int  # output sample index at which that first sample played
    kind: str  # packet, fec, plc, silence
    priority: int


@dataclass(slots=True)
class Block:
    samples: np.ndarray
    frames: list[PlayedFrame] = field(default_factory=list)
    playing_priority: int = 0
    underrun: bool = False


class Playout:
    def __init__(
        self, groups: Sequence[GroupSpec], stream_timeout: float = 2.0, max_streams: int = MAX_STREAMS
    ) -> None:
        if not groups:
            raise ValueError("a speaker needs at least one group")
        self.groups = {f"{g.address}:{g.port}": g for g in groups}
        if len(self.groups) != len(groups):
            raise ValueError("the same group is given twice")
        self.stream_timeout = stream_timeout
        self.max_streams = max(2, max_streams)
        self.streams: dict[int, StreamBuffer] = {}
        self.invalid = 0
        self.evicted = 0
        self._clocks: dict[int, MediaClock] = {}  # mappings of expired streams, to resync when they return

    def _stream(self, group: str, ssrc: int) -> StreamBuffer:
        stream = self.streams.get(ssrc)
        spec = self.groups[group]
        if stream is None:
            for other in self.streams.values():
                if other.group == group and other.ended_at is None:
                    other.on_bye()  # a new SSRC on a group is a new broadcast: the old one is over
                    other.superseded = True
            if len(self.streams) >= self.max_streams:
                self._evict()
            stream = StreamBuffer(ssrc, spec.priority, spec.delay, group)
            previous = self._clocks.pop(ssrc, None)
            if previous is not None:  # the stream is back after an outage: keep placing it where it was
                stream.on_sender_report(previous.wall, previous.rtp & 0xFFFF_FFFF, 0, 0.0)
            self.streams[ssrc] = stream
        elif spec.priority > stream.priority:  # one stream sent to several groups this speaker joined
            stream.priority, stream.delay = spec.priority, spec.delay
        return stream

    def on_datagram(
        self, group: str, data: bytes, arrival: float, source: tuple[str, int] | None = None
    ) -> str:
        """An RTP or RTCP datagram from ``group`` (``ADDR:PORT``); returns what became of it."""
        if group not in self.groups:
            raise ValueError(f"unknown group {group}")
        try:
            if is_rtcp(data):
                self._on_rtcp(group, rtcp.parse_compound(data), arrival, source)
                return "rtcp"
            packet = RtpPacket.parse(data)
        except ValueError:
            self.invalid += 1
            return "invalid"
        if packet.payload_type != PAYLOAD_TYPE or not packet.payload:
            self.invalid += 1
            return "invalid"
        return self._stream(group, packet.ssrc).add(packet, arrival)

    def _on_rtcp(
        self, group: str, packets: list[rtcp.Packet], arrival: float, source: tuple[str, int] | None
    ) -> None:
        for p in packets:
            if isinstance(p, rtcp.SenderReport):
                stream = self._stream(group, p.ssrc)
                ntp = p.ntp_timestamp
                stream.on_sender_report(wall_from_ntp(ntp), p.rtp_timestamp, ntp_middle(ntp), arrival)
                stream.source = source
            elif isinstance(p, rtcp.AppPacket) and p.name == rtcp.LOA_STREAM and p.ssrc in self.streams:
                try:
                    self.streams[p.ssrc].announced_priority = rtcp.stream_priority(p)
                except ValueError:
                    self.invalid += 1
            elif isinstance(p, rtcp.Bye):
                for ssrc in p.sources:
                    if ssrc in self.streams:
                        self.streams[ssrc].on_bye()

    def _evict(self) -> None:
        """Bounds memory under a flood of SSRCs (each stream holds a decoder): the least useful stream
        goes, i.e. one already over (BYE or superseded) before one still live, the longest silent first."""
        victim = min(
            self.streams.values(), key=lambda s: (s.ended_at is None and not s.superseded, s.last_arrival)
        )
        del self.streams[victim.ssrc]
        self.evicted += 1

    def expire(self, now: float) -> list[StreamBuffer]:
        """Forgets streams silent for ``stream_timeout`` (an outage, or a sender gone without BYE)."""
        gone = [
            s for s in self.streams.values() if s.last_arrival and now - s.last_arrival > self.stream_timeout
        ]
        for s in gone:
            del self.streams[s.ssrc]
            if s.clock is not None and s.ended_at is None:
                self._clocks[s.ssrc] = s.clock
        while len(self._clocks) > 64:
            del self._clocks[next(iter(self._clocks))]
        return gone

    def render(self, index: int, offset: float | None, n: int = FRAME_SAMPLES) -> Block:
        """Output samples index..index+n-1; ``offset`` is sender clock minus local clock (None: unknown)."""
        block = Block(np.zeros(n, dtype=np.float32))
        if offset is None:
            return block
        taken = np.zeros(n, dtype=bool)
        server_time = index / 48_000 + offset
        ranked = sorted(
            self.streams.values(), key=lambda s: (-s.effective_priority, s.superseded, s.first_arrival)
        )
        for stream in ranked:
            rtp = stream.rtp_at(server_time)
            if rtp is None:
                continue
            start = round(rtp)
            samples, mask, events = stream.render(start, n)
            mine = mask & ~taken
            if not mine.any():
                continue
            block.samples[mine] = samples[mine]
            taken |= mine
            if not block.playing_priority:
                block.playing_priority = stream.effective_priority
            for e in events:
                if 0 <= e.offset < n and mine[e.offset]:
                    block.frames.append(
                        PlayedFrame(
                            stream.ssrc,
                            e.rtp & 0xFFFF_FFFF,
                            index + e.offset,
                            e.kind,
                            stream.effective_priority,
                        )
                    )
                    block.underrun |= e.kind == SILENCE
        return block
