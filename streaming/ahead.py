"""A bulletin rendered ahead: the exact datagrams the pacer will send to one group, made before air time.

A cluster behind 4G gets a scheduled bulletin minutes before its start (streaming/broker/ahead.py) and
plays it from its own cache (streaming/broker/cache.py) even if its link is down by then. What it plays
must be what the LAN hears: so the server fixes the stream's SSRC, first sequence number, first RTP time
and start time in advance, renders it here, and at air time opens the live stream with the same values
(``PacedSender.open_stream(ssrc=, seq0=, ts0=, start_time=)``) fed the same Opus frames. SRTP (AES-GCM,
srtp.py) is deterministic for a key, SSRC and packet index, and the pacer's RTCP schedule is a function
of the due times and the SSRC (``Stream.next_report``), so the multicast, broker and cache copies are the
same bytes and a speaker with several of them plays each frame once (ingress.py ``PathCopies``).

Nothing is duplicated from the pacer: the same :class:`streaming.packetizer.Stream` makes the packets
(its clock pinned before the start, so no frame is ever "late", then set to each datagram's due time so
that SRTP picks the key that will be current then), and the pacer's rules place the sender reports (the
first before the first packet, the next with the first packet due ``Stream.next_report`` later, counts
as of that packet, SR + BYE last).

Safety: the copy made here and the live stream seal datagrams under the same (key, SSRC, index) nonces,
which is harmless only while both seal the same bytes. ``Stream`` therefore never moves an exact
stream's late frames (they leave unchanged, and late), times its BYE from its last packet, not from
when ``finish`` was called, and seals an aborted one's final BYE at an SRTCP index beyond any a rendering
uses. The server must give a stream's SSRC to one rendering only, and never air other frames under it
(engine/jobs/ahead.py: resumed parts and repeats go live under fresh SSRCs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streaming.opus import OpusSettings
from streaming.packetizer import Destination, Entry, Stream, phase_of
from streaming.priority import Priority
from streaming.rtp import FRAME_SAMPLES

SR_INTERVAL = 0.5  # the pacer's default (PacedSender.sr_interval)
SPREAD = 0.01  # the pacer's default (PacedSender.spread)
MAX_FRAMES = 10 * 60 * 50 * 3  # 30 minutes of 20 ms frames: far above any bulletin sent ahead


@dataclass(frozen=True, slots=True)
class Timed:
    """One datagram as the pacer sends it: due at ``at`` (sender's wall clock), protected."""

    at: float
    rtcp: bool
    data: bytes


@dataclass(frozen=True, slots=True)
class Plan:
    """What fixes a stream rendered ahead; the live airing opens its stream with the same values."""

    ssrc: int
    seq0: int
    ts0: int
    start_time: float  # media time of the first sample, sender's wall clock (air time - playout delay)

    def __post_init__(self) -> None:
        if not (0 <= self.ssrc <= 0xFFFF_FFFF and 0 <= self.seq0 <= 0xFFFF and 0 <= self.ts0 <= 0xFFFF_FFFF):
            raise ValueError(f"ssrc {self.ssrc}, seq0 {self.seq0} or ts0 {self.ts0} out of range")
        if not self.start_time > 0:
            raise ValueError(f"start_time {self.start_time} must be a positive wall time")


def render(
    frames: Sequence[bytes],
    plan: Plan,
    destination: Destination,
    *,
    priority: Priority = Priority.NORMAL,
    cname: str = "loa-server",
    codec: OpusSettings | None = None,
    sr_interval: float = SR_INTERVAL,
    spread: float = SPREAD,
    label: str = "",
) -> list[Timed]:
    """The datagrams a :class:`streaming.pacer.PacedSender` (with this ``sr_interval`` and ``spread``)
    sends to ``destination`` for a stream opened with ``plan`` and fed ``frames`` (Opus, 20 ms each),
    in sending order. ``destination.keys`` must give the keys the group will have at air time;
    ``label`` must be the live stream's (it is in every sender report's SDES)."""
    if not frames or len(frames) > MAX_FRAMES:
        raise ValueError(f"{len(frames)} frames (1..{MAX_FRAMES})")
    now = [plan.start_time - 0.1]  # before the first packet's due time: no frame is ever late
    filed: list[Entry] = []
    stream = Stream(
        [destination],
        codec or OpusSettings(),
        priority,
        cname,
        plan.start_time,
        ssrc=plan.ssrc,
        phase=phase_of(plan.ssrc, spread),
        enqueue=filed.extend,
        clock=lambda: now[0],
        seq0=plan.seq0,
        ts0=plan.ts0,
        label=label,
    )
    stream.feed_encoded(frames)
    stream.finish()
    session = stream.sessions[0]

    def sealed(data: bytes, rtcp: bool) -> bytes:
        out = stream.protect(session, data, rtcp)
        if out is None:
            raise ValueError(f"no SRTP key for {destination.address}:{destination.port} at {now[0]:.3f}")
        return out

    out: list[Timed] = []
    # packets in sequence order (their due times increase), the BYE last (due after the last packet)
    for send_at, _, data in sorted(filed, key=lambda e: (e[2] is None, e[0])):
        now[0] = send_at
        if data is None:
            out.append(Timed(send_at, True, sealed(stream.bye(send_at), True)))
            break
        later: bytes | None = None
        if send_at >= stream.next_sr:  # the pacer's rule (pacer.py _send_packets)
            stream.next_report(send_at, sr_interval)
            if stream.first_packet_time is None:
                stream.first_packet_time = send_at
                out.append(Timed(send_at, True, sealed(stream.sender_report(send_at, bye=False), True)))
            else:
                stream.refresh_keys()
                counts = (stream.frames_sent, stream.octets_sent)
                later = sealed(stream.sender_report(send_at, bye=False, counts=counts), True)
        out.append(Timed(send_at, False, sealed(data, False)))
        stream.frames_sent += 1
        stream.octets_sent += len(data) - 12
        if later is not None:
            out.append(Timed(send_at, True, later))
    return out


def duration_s(frames: int) -> float:
    return frames * FRAME_SAMPLES / 48_000
