"""PCM → timed RTP (or SRTP) datagrams and RTCP sender reports: one broadcast's :class:`Stream`.

Timing contract (what the server relies on)::

    source sample n of a stream has RTP time  ts0 + n          (ts0 random; 48 kHz RTP clock)
    and media time                            start_time + n / 48000   (sender's wall clock, seconds)
    the packet holding it is due at           about its media time (up to ``spread`` early, see below)
    every speaker plays it at                 start_time + n / 48000 + the group's playout delay

So audio must be fed before its media time; its presentation follows one playout delay later. With
``start_time=None`` the stream starts at the first :meth:`Stream.feed` (time to first packet ≈ encoding
one frame). If the feed falls behind (synthesis slower than real time), the late frames are moved to the
next free slot of the time grid and flagged with the RTP marker: the RTP/wall mapping never changes,
speakers simply play a short silence, and no audio is played after its own presentation time.

Each stream's packets are due up to ``spread`` (the pacer's, default 10 ms) before their media time, at a
phase fixed per stream, so that streams started together do not all fall due at the same instant of the
20 ms tick. Opus's 6.5 ms encoder look-ahead is folded into the RTP timestamps, so decoded sample k of
the stream is source sample k (see opus.py). A stream does no I/O and reads time only through its
``clock``: it hands ``(due time, stream, RTP packet)`` entries to ``enqueue`` (the pacer's time slots);
a ``None`` packet is its BYE, due ~100 ms after the last packet (ffmpeg stops reading at a BYE, so it
must not overtake the last packet). The pacer asks it for the RTCP it sends (:meth:`Stream.sender_report`:
SR + SDES CNAME + Loa's LOAS priority block, with BYE at the end) and to protect each datagram.

SRTP: a destination with ``keys`` (a function returning its group's current master keys, see srtp.py) is
sent SRTP and SRTCP only, never plain: each stream holds one SrtpSession per keyed destination (one group,
one direction), protects every packet for it just before it is sent, and re-reads the key ring when the
pacer asks (with every sender report after the first), so a rotation made while the stream is on air
reaches it and the session switches MKI at the new key's not_before. Every stream has a fresh random SSRC
(feedback.py never reissues a recent one), so no (key, SSRC, index) nonce repeats, resumed and repeated
airings included. A packet that cannot be protected (no usable key) is not sent and counts as a send
error.

Plain groups (docs/RECEIVERS.md): a stream opened with ``continue_seq`` is one more stretch of its group's
single RTP timeline, so that a third-party receiver started once plays every bulletin: its first sequence
number continues the group's previous stream, its RTP time is the wall clock (``wall × 48000`` mod 2^32,
so a pause between bulletins is a timestamp gap of the same length, which ffmpeg and GStreamer play as
silence), and it ends with Loa's ``LOAE`` block instead of a BYE (ffmpeg stops reading at the first
BYE; RFC 3550 receivers ignore an APP block they do not know). Loa speakers treat LOAE as a BYE. SRTP
streams keep random origins and the BYE: no third-party receiver can play them anyway.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from streaming import rtcp
from streaming.clock import ntp_from_wall
from streaming.group import GroupAddress
from streaming.opus import OpusEncoder, OpusSettings, encoder_lookahead, validate_pcm
from streaming.priority import Priority
from streaming.rtp import CLOCK_RATE, FIXED_HEADER, FRAME_SAMPLES, PAYLOAD_TYPE
from streaming.srtp import MasterKey, SrtpError, SrtpSession
from streaming.transport import Sink, Transport

FRAME_SECONDS = FRAME_SAMPLES / CLOCK_RATE
BYE_DELAY = 0.1
ABORT_RTCP_INDEX = 1 << 30  # see Stream.bye


def wall_rtp_time(wall: float) -> int:
    """A plain group's RTP time at wall time ``wall`` (seconds since 1970): the wall clock at 48 kHz,
    so every stream on the group, from any sender run, lies on one timeline."""
    return round(wall * CLOCK_RATE) & 0xFFFF_FFFF


def renumbered(packet: bytes, offset: int) -> bytes:
    """A plain RTP packet with ``offset`` added to its sequence number (mod 2^16)."""
    seq = (int.from_bytes(packet[2:4], "big") + offset) & 0xFFFF
    return packet[:2] + seq.to_bytes(2, "big") + packet[4:]


def report_jitter(ssrc: int, rank: int) -> float:
    """A number in [0, 1) fixed by ``(ssrc, rank)`` (splitmix64's finalizer): random-looking across
    streams and reports, yet the same each time it is asked."""
    x = ((ssrc & 0xFFFF_FFFF) << 32 | (rank & 0xFFFF_FFFF)) + 0x9E37_79B9_7F4A_7C15
    x = (x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9 & 0xFFFF_FFFF_FFFF_FFFF
    x = (x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB & 0xFFFF_FFFF_FFFF_FFFF
    return ((x ^ (x >> 31)) >> 11) / float(1 << 53)


def phase_of(ssrc: int, spread: float) -> float:
    """The send phase of a stream whose SSRC was fixed in advance: spread like the pacer's own phases,
    and the same wherever the stream is made (rendered ahead, or sent live)."""
    return (ssrc & 0xFFFF_FFFF) / float(1 << 32) * spread


@dataclass(frozen=True, slots=True)
class Destination(GroupAddress):
    """A group address a stream is sent to, with the source of its SRTP keys."""

    # the group's current SRTP master keys; None: plain RTP (third-party receivers without keys)
    keys: Callable[[], Sequence[MasterKey]] | None = field(default=None, compare=False)


Entry = tuple[float, "Stream", bytes | None]  # (due at, stream, RTP packet); None: the stream's BYE
# per destination: deliver one datagram, its SRTP session or None, the destination, its group id, and
# the transports that serve it
Route = tuple[Sink, SrtpSession | None, GroupAddress, str, tuple[Transport, ...]]


def sdes_items(cname: str, label: str) -> dict[int, bytes]:
    """The SDES items of a stream: CNAME, and its label as a PRIV item (rtcp.label_item) when it has one."""
    items = {rtcp.SDES_CNAME: cname.encode()[:255]}
    if label:
        items[rtcp.SDES_PRIV] = rtcp.label_item(label)
    return items


class Stream:
    """One broadcast's RTP stream to one or more destinations. Created by ``PacedSender.open_stream``
    (pacer.py)."""

    __slots__ = (
        "_clock",
        "_encoder",
        "_enqueue",
        "_exact",
        "_finishing",
        "_frame",
        "_last_send_at",
        "_lookahead",
        "_marker",
        "_pending",
        "_phase",
        "_reports",
        "_rtcp_tail",
        "_seq",
        "_start_time",
        "_timeline",
        "_ts0",
        "aborted",
        "bye_sent",
        "cname",
        "codec",
        "destinations",
        "done",
        "first_packet_time",
        "frames_sent",
        "gaps",
        "next_sr",
        "octets_sent",
        "priority",
        "routes",
        "samples_fed",
        "seq_offsets",
        "sessions",
        "srtp_errors",
        "ssrc",
    )

    def __init__(
        self,
        destinations: Sequence[Destination],
        codec: OpusSettings,
        priority: Priority,
        cname: str,
        start_time: float | None,
        *,
        ssrc: int,
        phase: float,
        enqueue: Callable[[list[Entry]], None],
        clock: Callable[[], float] = time.time,
        seq0: int | None = None,
        ts0: int | None = None,
        label: str = "",
        continue_seq: int | None = None,
    ) -> None:
        """``label``: what the stream airs (``{bulletin}/{airing}``), told to speakers in every sender
        report's SDES (playlog.py) so their play reports name it. ``seq0``/``ts0``: the first sequence
        number and RTP time (default random); given, with the SSRC, phase and start time of a stream
        rendered ahead (streaming/ahead.py), the stream sends the very same datagrams. ``clock`` also
        dates SRTP key choice, so a rendering protects each packet with the key that will be current at
        its send time."""
        self._enqueue = enqueue
        self._clock = clock
        self.destinations = tuple(destinations)
        self.codec = codec
        self.priority = Priority(priority)
        self.cname = cname
        self.ssrc = ssrc
        self.sessions = [
            SrtpSession(d.keys(), clock=clock) if d.keys is not None else None for d in self.destinations
        ]
        for d, session in zip(self.destinations, self.sessions, strict=True):
            if session is not None:
                try:
                    session.current_key()
                except SrtpError as exc:
                    raise ValueError(f"destination {d.address}:{d.port}: {exc}") from None
        if not (seq0 is None or 0 <= seq0 <= 0xFFFF) or not (ts0 is None or 0 <= ts0 <= 0xFFFF_FFFF):
            raise ValueError(f"seq0 {seq0} or ts0 {ts0} out of range (16 and 32 bits)")
        # a stream reproducing one made ahead: every datagram it sends must be the one made ahead, byte for
        # byte, since both are sealed under the same (key, SSRC, index) nonces (see ``_queue_frames``,
        # ``finish`` and ``bye``)
        self._exact = seq0 is not None
        if self._exact and (start_time is None or ts0 is None):
            raise ValueError("a stream with a given seq0 needs its ts0 and start_time too")
        self._seq = secrets.randbits(16) if seq0 is None else seq0
        self._ts0 = secrets.randbits(32) if ts0 is None else ts0
        # a plain group's timeline (module note): RTP time is the wall clock, numbering continues
        self._timeline = continue_seq is not None and not self._exact
        if self._timeline:
            if not 0 <= (continue_seq or 0) <= 0xFFFF:
                raise ValueError(f"continue_seq {continue_seq} out of range (16 bits)")
            self._seq = continue_seq or 0
            self._ts0 = wall_rtp_time(start_time if start_time is not None else clock())
        self._phase = phase
        self._start_time = start_time
        self._encoder: OpusEncoder | None = None
        self._lookahead = encoder_lookahead(codec)
        self._pending = np.zeros(0, dtype=np.float32)
        self._frame = 0  # next free frame slot on the time grid
        self._marker = True
        self._last_send_at = 0.0
        self.next_sr = 0.0  # due time of the packet its next sender report goes with; -1 once aborted
        self._reports = 0  # sender reports scheduled so far (the jitter of the next one depends on it)
        self._finishing = False
        self.aborted = False  # its packets still in the pacer's time slots are skipped
        self.bye_sent = False
        # per destination, set by the pacer (see pacer.py)
        self.routes: list[Route] = []
        # per destination: added to the sequence number of each plain packet sent there, so that a stream
        # to several plain groups continues each group's own numbering (pacer.py)
        self.seq_offsets = [0] * len(self.destinations)
        # SDES and the priority block never change: serialized once, appended to every sender report
        self._rtcp_tail = rtcp.serialize_compound(
            [
                rtcp.SourceDescription([(self.ssrc, sdes_items(self.cname, label))]),
                rtcp.stream_priority_app(self.ssrc, int(self.priority)),
            ]
        )
        self.done = threading.Event()
        self.samples_fed = 0
        self.frames_sent = 0
        self.octets_sent = 0
        self.gaps = 0  # times the feed fell behind and frames were moved to a later slot
        self.srtp_errors = 0  # packets not sent because no key could protect them
        self.first_packet_time: float | None = None

    # --- producer side (the server's thread) ---

    @property
    def samples_sent(self) -> int:
        return min(self.frames_sent * FRAME_SAMPLES, self.samples_fed)

    @property
    def start_time(self) -> float | None:
        return self._start_time

    def media_time(self, sample: int) -> float:
        """Media time of source sample ``sample`` (add the group's playout delay for its playout time)."""
        if self._start_time is None:
            raise ValueError("the stream has not started: feed it first")
        return self._start_time + sample / CLOCK_RATE

    def feed(self, pcm: np.ndarray) -> None:
        """Queues float32 mono 48 kHz audio; whole 20 ms frames are encoded now, the rest waits."""
        pcm = validate_pcm(pcm)
        if self._finishing:
            raise ValueError("stream already finished or aborted")
        self.samples_fed += len(pcm)
        buffered = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        whole = len(buffered) // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending = buffered[whole:].copy()
        if whole:
            self._encode(buffered[:whole])

    def feed_encoded(self, packets: Iterable[bytes]) -> None:
        """Queues Opus packets of 20 ms each (from :func:`encode_pcm`, with the same codec settings)."""
        if self._finishing:
            raise ValueError("stream already finished or aborted")
        if self._encoder is not None:
            raise ValueError("this stream is fed PCM; do not mix feed() and feed_encoded()")
        packets = list(packets)
        if any(not p or len(p) > 1275 for p in packets):
            raise ValueError("Opus packets must be 1..1275 bytes")
        self.samples_fed += FRAME_SAMPLES * len(packets)
        self._queue_frames(packets)

    def finish(self) -> None:
        """Sends what is buffered (zero-padded), one frame of silence for the encoder tail, then BYE."""
        if self._finishing:
            return
        if self._encoder is not None or len(self._pending):
            tail = np.zeros(FRAME_SAMPLES * (2 if len(self._pending) else 1), dtype=np.float32)
            tail[: len(self._pending)] = self._pending
            self._pending = np.zeros(0, dtype=np.float32)
            self._encode(tail)
        self._finishing = True
        # an exact stream's BYE (its SR's times and counts) must not depend on when finish() is called
        last = self._last_send_at if self._exact else max(self._last_send_at, self._clock())
        self._enqueue([(last + BYE_DELAY, self, None)])

    def abort(self) -> None:
        """Stops now (preemption): sends BYE; what is still filed is skipped (and freed) as it falls due."""
        self._finishing = True
        self.aborted = True
        self.next_sr = -1.0  # the pacer thread's one per-packet check then finds it aborted
        self._enqueue([(self._clock(), self, None)])

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def _encode(self, pcm: np.ndarray) -> None:
        """Whole frames of ``pcm`` through the stream's one encoder (its state runs across feeds)."""
        encoder = self._encoder = self._encoder or OpusEncoder(self.codec)
        self._queue_frames(
            [encoder.encode(pcm[i : i + FRAME_SAMPLES]) for i in range(0, len(pcm), FRAME_SAMPLES)]
        )

    def _queue_frames(self, payloads: list[bytes]) -> None:
        now = self._clock()
        if self._start_time is None:
            self._start_time = now + self._lookahead / CLOCK_RATE + self._phase
            if self._timeline:
                self._ts0 = wall_rtp_time(self._start_time)
        packets: list[Entry] = []
        pack = FIXED_HEADER.pack  # no CSRC, no extension: the whole header of every packet sent here
        for payload in payloads:
            rtp_offset = self._frame * FRAME_SAMPLES - self._lookahead
            send_at = self._start_time + rtp_offset / CLOCK_RATE - self._phase
            # the feed fell behind: move to the next slot still ahead; not an exact stream's frames, whose
            # headers would change under a nonce already used (they go late, and speakers drop them)
            if send_at < now - FRAME_SECONDS and not self._exact:
                skip = int((now - send_at) / FRAME_SECONDS)
                self._frame += skip
                rtp_offset += skip * FRAME_SAMPLES
                send_at += skip * FRAME_SECONDS
                self._marker = True
                self.gaps += 1
            marker = 0x80 if self._marker else 0
            ts = (self._ts0 + rtp_offset) & 0xFFFF_FFFF
            header = pack(0x80, marker | PAYLOAD_TYPE, self._seq, ts, self.ssrc)
            packets.append((send_at, self, header + payload))
            self._marker = False
            self._seq = (self._seq + 1) & 0xFFFF
            self._frame += 1
        if packets:
            self._last_send_at = packets[-1][0]
            self._enqueue(packets)

    # --- pacer thread side ---

    def protect(self, session: SrtpSession | None, data: bytes, rtcp_packet: bool) -> bytes | None:
        if session is None:
            return data
        try:
            return session.protect_rtcp(data) if rtcp_packet else session.protect(data)
        except SrtpError:
            self.srtp_errors += 1
            return None

    def refresh_keys(self) -> None:
        for d, session in zip(self.destinations, self.sessions, strict=True):
            if session is not None and d.keys is not None:
                try:
                    session.set_keys(d.keys())
                except Exception:  # a failing key source keeps the keys in use
                    self.srtp_errors += 1

    def next_report(self, send_at: float, interval: float) -> None:
        """A sender report goes with the packet due at ``send_at``: the next one with the first packet
        due 0.75-1 x ``interval`` later. Jittered (RFC 3550 §6.2), so that streams started together
        spread their reports, but by a number fixed by the SSRC and the report's rank, and counted in
        due time rather than the pacer's wake-ups: a stream rendered ahead (streaming/ahead.py)
        reproduces the live one's reports, hence its SRTCP indexes, byte for byte."""
        self.next_sr = send_at + interval * (0.75 + 0.25 * report_jitter(self.ssrc, self._reports))
        self._reports += 1

    def bye(self, send_at: float) -> bytes:
        """The final SR + BYE. An exact stream cut short (abort) sends it under an SRTCP index far
        beyond any its copy made ahead can have used (2^30: 12 years of reports), never under one of
        those, which sealed other bytes."""
        if self._exact and self.aborted:
            for session in self.sessions:
                if session is not None:
                    session.skip_rtcp_index(self.ssrc, ABORT_RTCP_INDEX)
        return self.sender_report(send_at, bye=True)

    def sender_report(self, send_at: float, bye: bool, counts: tuple[int, int] | None = None) -> bytes:
        """SR (+ BYE). ``counts``: the packet and octet counts as of ``send_at`` (default: now)."""
        frames, octets = counts if counts is not None else (self.frames_sent, self.octets_sent)
        # The SR maps a whole RTP tick to its exact media time (start_time + offset / 48000).
        start = self._start_time if self._start_time is not None else send_at
        rtp_offset = round((send_at + self._phase - start) * CLOCK_RATE)
        report = rtcp.SenderReport(
            self.ssrc,
            ntp_from_wall(start + rtp_offset / CLOCK_RATE),
            (self._ts0 + rtp_offset) & 0xFFFF_FFFF,
            frames,
            octets,
        )
        data = rtcp.serialize(report) + self._rtcp_tail
        if not bye:
            return data
        end = rtcp.stream_end_app(self.ssrc) if self._timeline else rtcp.Bye([self.ssrc])
        return data + rtcp.serialize(end)

    @property
    def on_group_timeline(self) -> bool:
        """A plain group's stream that continues the group's RTP timeline (module note)."""
        return self._timeline

    def next_seq(self, destination: int = 0) -> int:
        """The sequence number its next packet to ``destination`` (an index) would take: where that
        group's next stream continues."""
        return (self._seq + self.seq_offsets[destination]) & 0xFFFF
