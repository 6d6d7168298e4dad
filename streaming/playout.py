"""What a speaker plays: every received stream placed at its presentation time, the highest priority on top.

The output is a continuous run of samples on a grid fixed to the speaker's clock: output sample ``i``
plays at local time ``i / 48000``. For each 20 ms block the playout asks every stream for the RTP times
that present then (``wall(T) + delay`` on the sender's clock, i.e. local time + clock offset), so every
speaker of a group emits the same sample at the same instant, whatever its network delay. Streams are
layered by priority: a sample belongs to the highest-priority stream that covers it (from its first
frame to its BYE), so an emergency stream takes over exactly at its first sample and a lower one
resumes exactly at the emergency's last. Equal priorities: the stream that began first keeps playing,
except that a new SSRC on a group replaces the group's previous stream (a new broadcast).

Keyed groups (``sr_tolerance`` set): SRTP proves who sent a packet, not when. A speaker that restarted,
or that has forgotten an old stream, authenticates a replay of a captured broadcast while its key is
valid, and the replay's new SSRC would end the group's live stream. So there a new SSRC touches playout
only once an authenticated sender report for it says it is live: its NTP time, against the speaker's
estimate of the sender's clock (local time + the time-sync offset), at most ``sr_tolerance`` ahead (clock
error) and at most the group's playout delay behind (an older report maps packets that arrive too late
to play, so a genuine stream loses nothing by the rule, and a replay must be fresher than the playout
delay, which a restart cannot be; both limits are capped at ``sr_tolerance``). Until then its RTP is
held, at most ``HOLD_FRAMES`` packets for each of at most ``MAX_PENDING`` SSRCs (no decoder, no stream),
and played from once the report comes (the sender sends one with its first packet, so a genuine stream
loses nothing); a stream whose report is stale has its packets dropped and counted. A stream that went
silent and returns is placed by its remembered mapping only if that puts its packet at the present.

Like jitter.py, this is pure: datagrams and times come in as arguments (receiver.py does the I/O).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from streaming import rtcp
from streaming.clock import MediaClock, ntp_middle, wall_from_ntp
from streaming.jitter import SILENCE, StreamBuffer
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES, PAYLOAD_TYPE, RtpPacket, is_rtcp
from streaming.sdp import GroupSpec

MAX_STREAMS = 16  # streams a speaker tracks at once (a few groups, each with a stream or two)
MAX_PENDING = 8  # keyed groups: new SSRCs waiting for a live sender report
HOLD_FRAMES = 32  # RTP packets held per waiting SSRC: 640 ms, more than one sender report interval


@dataclass(frozen=True, slots=True)
class PlayedFrame:
    ssrc: int
    rtp: int  # 32-bit RTP time of the frame's first sample
    index: int  # output sample index at which that first sample played
    kind: str  # packet, fec, plc, silence
    priority: int


@dataclass(slots=True)
class Pending:
    """A new SSRC on a keyed group that has not yet shown a live sender report: bytes only."""

    group: str
    last_arrival: float
    held: list[tuple[RtpPacket, float]] = field(default_factory=list)
    stale: bool = False  # its latest sender report was out of tolerance


@dataclass(slots=True)
class Block:
    samples: np.ndarray
    frames: list[PlayedFrame] = field(default_factory=list)
    playing_priority: int = 0
    underrun: bool = False


class Playout:
    def __init__(
        self,
        groups: Sequence[GroupSpec],
        stream_timeout: float = 2.0,
        max_streams: int = MAX_STREAMS,
        sr_tolerance: float | None = None,
    ) -> None:
        """``sr_tolerance``: seconds; set on keyed groups (see the module docstring), None on plain ones."""
        if not groups:
            raise ValueError("a speaker needs at least one group")
        if sr_tolerance is not None and not sr_tolerance > 0:
            raise ValueError(f"sr_tolerance {sr_tolerance} must be positive seconds")
        self.sr_tolerance = sr_tolerance
        self.pending: dict[int, Pending] = {}
        self.admitted = 0  # new SSRCs let in by a live sender report (or a fresh return)
        self.stale_reports = 0  # authenticated sender reports of new SSRCs, out of tolerance
        self.unverified = 0  # RTP packets of new SSRCs dropped without ever playing
        self.groups = {f"{g.address}:{g.port}": g for g in groups}
        if len(self.groups) != len(groups):
            raise ValueError("the same group is given twice")
        self.stream_timeout = stream_timeout
        self.max_streams = max(2, max_streams)
        self.streams: dict[int, StreamBuffer] = {}
        self.invalid = 0
        self.evicted = 0
        self._clocks: dict[int, MediaClock] = {}  # mappings of expired streams, to resync when they return
        self.labels: dict[int, str] = {}  # SSRC -> what it airs, from its sender reports' SDES (playlog.py)

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
        self,
        group: str,
        data: bytes,
        arrival: float,
        source: tuple[str, int] | None = None,
        offset: float | None = 0.0,
    ) -> str:
        """An RTP or RTCP datagram from ``group`` (``ADDR:PORT``); returns what became of it. ``offset``:
        sender clock minus local clock (None: not known yet), to judge sender reports on keyed groups."""
        if group not in self.groups:
            raise ValueError(f"unknown group {group}")
        try:
            if is_rtcp(data):
                return self._on_rtcp(group, rtcp.parse_compound(data), arrival, source, offset)
            packet = RtpPacket.parse(data)
        except ValueError:
            self.invalid += 1
            return "invalid"
        if packet.payload_type != PAYLOAD_TYPE or not packet.payload:
            self.invalid += 1
            return "invalid"
        if self.sr_tolerance is not None and packet.ssrc not in self.streams:
            return self._hold(group, packet, arrival, offset)
        return self._stream(group, packet.ssrc).add(packet, arrival)

    def _on_rtcp(
        self,
        group: str,
        packets: list[rtcp.Packet],
        arrival: float,
        source: tuple[str, int] | None,
        offset: float | None,
    ) -> str:
        outcome = "rtcp"
        for p in packets:
            if isinstance(p, rtcp.SenderReport):
                ntp = p.ntp_timestamp
                gated = self.sr_tolerance is not None and p.ssrc not in self.streams
                if gated and not self._admit(group, p.ssrc, wall_from_ntp(ntp), arrival, offset):
                    outcome = "rejected_stale" if self.pending[p.ssrc].stale else outcome
                    continue
                stream = self._stream(group, p.ssrc)
                stream.on_sender_report(wall_from_ntp(ntp), p.rtp_timestamp, ntp_middle(ntp), arrival)
                stream.source = source
                waiting = self.pending.pop(p.ssrc, None)
                for packet, when in waiting.held if waiting else ():
                    stream.add(packet, when)
            elif isinstance(p, rtcp.AppPacket) and p.name == rtcp.LOA_STREAM and p.ssrc in self.streams:
                try:
                    self.streams[p.ssrc].announced_priority = rtcp.stream_priority(p)
                except ValueError:
                    self.invalid += 1
            elif isinstance(p, rtcp.SourceDescription):
                for ssrc in (c[0] for c in p.chunks if c[0] in self.streams):
                    try:
                        label = rtcp.stream_label(p, ssrc)
                    except ValueError:
                        self.invalid += 1
                        continue
                    if label is not None:
                        self.labels[ssrc] = label
            elif ended := rtcp.ended_sources(p):
                # a BYE, or LOAE: a plain group's streams end with it instead (packetizer.py)
                for ssrc in ended:
                    if ssrc in self.streams:
                        self.streams[ssrc].on_bye()
                    elif ssrc in self.pending:
                        self._drop_pending(ssrc)
        return outcome

    # --- keyed groups: a new SSRC waits for a live sender report ---

    def _live(self, group: str, wall: float, arrival: float, offset: float | None) -> bool:
        """Is sender time ``wall`` the present (for media that can still play) on this speaker's clock?"""
        assert self.sr_tolerance is not None
        if offset is None:
            return False
        ahead = wall - (arrival + offset)
        return -min(self.groups[group].delay, self.sr_tolerance) <= ahead <= self.sr_tolerance

    def _admit(self, group: str, ssrc: int, wall: float, arrival: float, offset: float | None) -> bool:
        """A sender report of an SSRC not playing: True if it is live (the caller then opens the stream);
        otherwise the SSRC waits, marked stale if the report is out of tolerance."""
        if self._live(group, wall, arrival, offset):
            self.admitted += 1
            return True
        entry = self._pending(group, ssrc, arrival)
        if offset is not None:  # with no time sync yet it cannot be judged: the next report will be
            self.stale_reports += 1
            entry.stale = True
            self.unverified += len(entry.held)
            entry.held.clear()
        return False

    def _hold(self, group: str, packet: RtpPacket, arrival: float, offset: float | None) -> str:
        previous = self._clocks.get(packet.ssrc)
        if previous is not None and self._live(group, previous.wall_of(packet.timestamp), arrival, offset):
            self.admitted += 1  # back after an outage, where it was: it is the live stream it was
            return self._stream(group, packet.ssrc).add(packet, arrival)
        entry = self._pending(group, packet.ssrc, arrival)
        if entry.stale:
            self.unverified += 1
            return "rejected_unverified"
        if len(entry.held) >= HOLD_FRAMES:  # keep the newest: they are the ones still to be played
            entry.held.pop(0)
            self.unverified += 1
        entry.held.append((packet, arrival))
        return "held"

    def _pending(self, group: str, ssrc: int, arrival: float) -> Pending:
        entry = self.pending.get(ssrc)
        if entry is None:
            if len(self.pending) >= MAX_PENDING:  # stale ones go first, then the longest silent
                victim = min(self.pending.items(), key=lambda kv: (not kv[1].stale, kv[1].last_arrival))
                self._drop_pending(victim[0])
            entry = self.pending[ssrc] = Pending(group, arrival)
        entry.last_arrival = arrival
        return entry

    def _drop_pending(self, ssrc: int) -> None:
        self.unverified += len(self.pending.pop(ssrc).held)

    def _evict(self) -> None:
        """Bounds memory under a flood of SSRCs (each stream holds a decoder): the least useful stream
        goes, i.e. one already over (BYE or superseded) before one still live, the longest silent first."""
        victim = min(
            self.streams.values(), key=lambda s: (s.ended_at is None and not s.superseded, s.last_arrival)
        )
        del self.streams[victim.ssrc]
        self.labels.pop(victim.ssrc, None)
        self.evicted += 1

    def expire(self, now: float) -> list[StreamBuffer]:
        """Forgets streams silent for ``stream_timeout`` (an outage, or a sender gone without BYE)."""
        gone = [
            s for s in self.streams.values() if s.last_arrival and now - s.last_arrival > self.stream_timeout
        ]
        for s in gone:
            del self.streams[s.ssrc]
            self.labels.pop(s.ssrc, None)
            if s.clock is not None and s.ended_at is None:
                self._clocks[s.ssrc] = s.clock
        for ssrc in [k for k, p in self.pending.items() if now - p.last_arrival > self.stream_timeout]:
            self._drop_pending(ssrc)
        while len(self._clocks) > 64:
            del self._clocks[next(iter(self._clocks))]
        return gone

    def render(self, index: int, offset: float | None, n: int = FRAME_SAMPLES) -> Block:
        """Output samples index..index+n-1; ``offset`` is sender clock minus local clock (None: unknown)."""
        block = Block(np.zeros(n, dtype=np.float32))
        if offset is None:
            return block
        taken = np.zeros(n, dtype=bool)
        server_time = index / CLOCK_RATE + offset
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
