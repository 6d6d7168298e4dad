"""One paced sender thread for every concurrent stream: each RTP packet leaves at its due time.

Timing contract (what the server relies on)::

    source sample n of a stream has RTP time  ts0 + n          (ts0 random; 48 kHz RTP clock)
    and media time                            start_time + n / 48000   (sender's wall clock, seconds)
    the packet holding it is sent at          about its media time (up to ``spread`` early, see below)
    every speaker plays it at                 start_time + n / 48000 + the group's playout delay

So audio must be fed before its media time; its presentation follows one playout delay later. With
``start_time=None`` the stream starts at the first :meth:`Stream.feed` (time to first packet ≈ encoding
one frame). If the feed falls behind (synthesis slower than real time), the late frames are moved to the
next free slot of the time grid and flagged with the RTP marker: the RTP/wall mapping never changes,
speakers simply play a short silence, and no audio is played after its own presentation time.

Each stream's packets are sent up to ``spread`` (default 10 ms) before their media time, at a phase fixed
per stream, so that streams started together do not all fall due at the same instant of the 20 ms tick.
Opus's 6.5 ms encoder look-ahead is folded into the RTP timestamps, so decoded sample k of the stream is
source sample k (see opus.py). RTCP: a sender report (+ SDES CNAME + Loa's LOAS priority block) just
before the first packet (SRTP speakers hold a new stream until its first report) and then every
0.75–1 × ``sr_interval`` (jittered, so that streams started together spread their reports), and a BYE
~100 ms after the last packet (ffmpeg stops reading at a BYE, so it must not overtake the last packet).
With ``feedback_bind``, RTCP is sent from that unicast port and speakers' receiver reports and time-sync
requests are answered there.

How thousands of streams fit one thread: a fed packet is filed at once (by the feeding thread) in the
500 µs slot of its due time, so the sender thread does no per-packet scheduling. It sleeps until the
earliest slot's end, takes every slot that has come, and sends their packets ``FLUSH_EVERY`` (64) at a
time, one sendmmsg(2) per socket each (mmsg.py): fewer system calls, yet the first packets of a large
wake-up do not wait for its last. A packet therefore leaves at most ``EARLY`` (0.1 ms) before its due
time and, when the thread keeps up, less than a slot after it; what it measures is the send lateness
histogram.

CPython passes the GIL to a waiting thread only every 5 ms by default, so a busy Python thread elsewhere
in the process (synthesis front-end, gRPC) would make packets up to 5 ms late. :meth:`PacedSender.start`
lowers that interval, process-wide, to ``switch_interval`` (1 ms) unless given None.

Interface::

    sender = PacedSender(registry=None, feedback_bind=("0.0.0.0", 5004))   # one per server
    sender.start()
    stream = sender.open_stream([Destination("239.1.2.3", 5004)], codec=OpusSettings(),
                                priority=Priority.NORMAL, cname="loa-server", start_time=None)
    stream.feed(pcm)              # float32 mono 48 kHz, any length; encodes whole frames, never waits
    stream.feed_encoded(packets)  # or Opus packets from encode_pcm(), to reuse one encoding
    stream.finish(); stream.wait(timeout)      # or stream.abort() to stop now (preemption)
    stream.samples_fed, stream.samples_sent, stream.first_packet_time (wall), stream.media_time(n)
    sender.speakers()             # SpeakerReport per speaker that sent a receiver report
    sender.close()

SRTP: a destination with ``keys`` (a function returning its group's current master keys, see srtp.py) is
sent SRTP and SRTCP only, never plain: each stream holds one SrtpSession per keyed destination (one group,
one direction), protects every packet for it just before sending, and re-reads the key ring with every
sender report after the first, so a rotation made while the stream is on air reaches it and the session
switches MKI at the new key's not_before. Every stream has a fresh random SSRC (never reused within the
process), so no (key, SSRC, index) nonce repeats, resumed and repeated airings included. A packet that
cannot be protected (no usable key) is not sent and counts as a send error.

Receiver reports come in plain RTCP; they are kept only for streams this sender opened (the report block
names the stream) and in a table of at most ``MAX_SPEAKERS``, so forged reports cannot grow memory.

Metrics (with ``registry``): loa_rtp_packets_sent_total, loa_rtp_sent_bytes_total,
loa_rtcp_packets_sent_total, loa_rtp_send_errors_total, loa_rtp_active_streams,
loa_rtp_reporting_speakers, loa_rtp_send_lateness_seconds (histogram).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
import secrets
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streaming import rtcp
from streaming.clock import ntp_from_wall, ntp_middle
from streaming.group import GroupAddress
from streaming.mmsg import DatagramBatch
from streaming.opus import OpusEncoder, OpusSettings, encoder_lookahead, validate_pcm
from streaming.priority import Priority
from streaming.rtp import CLOCK_RATE, FIXED_HEADER, FRAME_SAMPLES, PAYLOAD_TYPE
from streaming.srtp import MasterKey, SrtpError, SrtpSession

FRAME_SECONDS = FRAME_SAMPLES / CLOCK_RATE
LATENESS_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)
_BUCKETS = np.array(LATENESS_BUCKETS)
BYE_DELAY = 0.1
EARLY = 0.0001  # a packet due this soon is sent now: cheaper than a wake-up, and harmless to receivers
SLOTS_PER_SECOND = 2000  # packets are grouped in 500 µs slots of due time; a slot leaves as one batch
ENQUEUE_CHUNK = 256
FLUSH_EVERY = 64  # packets per sendmmsg at most: the first of a large batch leaves without waiting for all
MAX_SPEAKERS = 10_000  # receiver reports kept (the least recently heard speaker goes first)
RECENT_STREAMS = 4096  # SSRCs of streams opened lately, whose receiver reports are accepted


@dataclass(frozen=True, slots=True)
class Destination(GroupAddress):
    """A group address a stream is sent to, with the source of its SRTP keys."""

    # the group's current SRTP master keys; None: plain RTP (third-party receivers without keys)
    keys: Callable[[], Sequence[MasterKey]] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SpeakerReport:
    cname: str
    address: str
    ssrc: int
    media_ssrc: int
    fraction_lost: float
    cumulative_lost: int
    jitter_s: float
    rtt_s: float | None
    playout_offset_s: float | None
    underruns: int
    late_packets: int
    playing_priority: int
    last_seen: float
    rejected_packets: int = 0


def _set_multicast(sock: socket.socket, d: Destination) -> None:
    """The destination's TTL and outgoing interface on a sending socket."""
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, d.ttl)
    if d.interface:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(d.interface))


Entry = tuple[float, "Stream", bytes | None]  # (send at, stream, RTP packet); None: the stream's BYE
Target = tuple[Callable[[bytes], None], Callable[[int], None], int, SrtpSession | None]
Report = tuple["Stream", float]  # an RTCP report (SR, or SR + BYE) to send for the stream, and its time


class Stream:
    """One broadcast's RTP stream to one or more destinations. Created by :meth:`PacedSender.open_stream`."""

    __slots__ = (
        "_aborted",
        "_bye_sent",
        "_encoder",
        "_finishing",
        "_frame",
        "_last_send_at",
        "_lookahead",
        "_marker",
        "_next_sr",
        "_pending",
        "_phase",
        "_rtcp_tail",
        "_sender",
        "_seq",
        "_srtp",
        "_start_time",
        "_targets",
        "_ts0",
        "cname",
        "codec",
        "destinations",
        "done",
        "first_packet_time",
        "frames_sent",
        "gaps",
        "octets_sent",
        "priority",
        "samples_fed",
        "srtp_errors",
        "ssrc",
    )

    def __init__(
        self,
        sender: PacedSender,
        destinations: Sequence[Destination],
        codec: OpusSettings,
        priority: Priority,
        cname: str,
        start_time: float | None,
        phase: float,
    ) -> None:
        self._sender = sender
        self.destinations = tuple(destinations)
        self.codec = codec
        self.priority = Priority(priority)
        self.cname = cname
        self.ssrc = sender._new_ssrc()
        self._srtp = [SrtpSession(d.keys()) if d.keys is not None else None for d in self.destinations]
        for d, session in zip(self.destinations, self._srtp, strict=True):
            if session is not None:
                try:
                    session.current_key()
                except SrtpError as exc:
                    raise ValueError(f"destination {d.address}:{d.port}: {exc}") from None
        self._seq = secrets.randbits(16)
        self._ts0 = secrets.randbits(32)
        self._phase = phase
        self._start_time = start_time
        self._encoder: OpusEncoder | None = None
        self._lookahead = encoder_lookahead(codec)
        self._pending = np.zeros(0, dtype=np.float32)
        self._frame = 0  # next free frame slot on the time grid
        self._marker = True
        self._last_send_at = 0.0
        self._next_sr = 0.0  # when its next sender report is due; -1 once aborted (see _send_packets)
        self._finishing = False
        self._aborted = False  # its packets still in the sender's time slots are skipped
        self._bye_sent = False
        # per destination: the appends of its socket's batch (datagram, sockaddr id), its sockaddr id,
        # and its SRTP session or None
        self._targets: list[Target] = []
        # SDES and the priority block never change: serialized once, appended to every sender report
        self._rtcp_tail = rtcp.serialize_compound(
            [
                rtcp.SourceDescription([(self.ssrc, {rtcp.SDES_CNAME: self.cname.encode()[:255]})]),
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
        self._sender._enqueue([(max(self._last_send_at, time.time()) + BYE_DELAY, self, None)])

    def abort(self) -> None:
        """Stops now (preemption): sends BYE; what is still filed is skipped (and freed) as it falls due."""
        self._finishing = True
        self._aborted = True
        self._next_sr = -1.0  # the sender thread's one per-packet check then finds it aborted
        self._sender._enqueue([(time.time(), self, None)])

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def _encode(self, pcm: np.ndarray) -> None:
        """Whole frames of ``pcm`` through the stream's one encoder (its state runs across feeds)."""
        encoder = self._encoder = self._encoder or OpusEncoder(self.codec)
        self._queue_frames(
            [encoder.encode(pcm[i : i + FRAME_SAMPLES]) for i in range(0, len(pcm), FRAME_SAMPLES)]
        )

    def _queue_frames(self, payloads: list[bytes]) -> None:
        now = time.time()
        if self._start_time is None:
            self._start_time = now + self._lookahead / CLOCK_RATE + self._phase
        packets: list[Entry] = []
        pack = FIXED_HEADER.pack  # no CSRC, no extension: the whole header of every packet sent here
        for payload in payloads:
            rtp_offset = self._frame * FRAME_SAMPLES - self._lookahead
            send_at = self._start_time + rtp_offset / CLOCK_RATE - self._phase
            if send_at < now - FRAME_SECONDS:  # the feed fell behind: move to the next slot still ahead
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
            self._sender._enqueue(packets)

    # --- sender thread side ---

    def _protect(self, session: SrtpSession | None, data: bytes, rtcp_packet: bool) -> bytes | None:
        if session is None:
            return data
        try:
            return session.protect_rtcp(data) if rtcp_packet else session.protect(data)
        except SrtpError:
            self.srtp_errors += 1
            return None

    def _refresh_keys(self) -> None:
        for d, session in zip(self.destinations, self._srtp, strict=True):
            if session is not None and d.keys is not None:
                try:
                    session.set_keys(d.keys())
                except Exception:  # a failing key source keeps the keys in use
                    self.srtp_errors += 1

    def _sender_report(self, send_at: float, bye: bool) -> bytes:
        # The SR maps a whole RTP tick to its exact media time (start_time + offset / 48000).
        start = self._start_time if self._start_time is not None else send_at
        rtp_offset = round((send_at + self._phase - start) * CLOCK_RATE)
        report = rtcp.SenderReport(
            self.ssrc,
            ntp_from_wall(start + rtp_offset / CLOCK_RATE),
            (self._ts0 + rtp_offset) & 0xFFFF_FFFF,
            self.frames_sent,
            self.octets_sent,
        )
        data = rtcp.serialize(report) + self._rtcp_tail
        return data + rtcp.serialize(rtcp.Bye([self.ssrc])) if bye else data


class PacedSender:
    def __init__(
        self,
        registry: Any | None = None,
        feedback_bind: tuple[str, int] | None = None,
        *,
        sr_interval: float = 0.5,
        spread: float = 0.01,
        record_lateness: bool = False,
        switch_interval: float | None = 0.001,
    ) -> None:
        if not 0 < sr_interval <= 1:
            raise ValueError("sr_interval must be in (0, 1] seconds (RTCP SR at least every second)")
        if not 0 <= spread < FRAME_SECONDS:
            raise ValueError("spread must be in [0, 0.02) seconds")
        self.sr_interval = sr_interval
        self.switch_interval = switch_interval
        self.spread = spread
        self._lock = threading.Lock()  # the slots, the stream set, the speaker table
        # held while the sender thread sleeps; released to wake it (a binary semaphore: cheaper per
        # wake-up than a Condition, which the thread would pay thousands of times a second)
        self._wake = threading.Lock()
        self._wake.acquire()
        # packets waiting (with BYEs), by the time slot of their due time, and a heap of the slots in use
        self._slots: dict[int, list[Entry]] = {}
        self._due: list[int] = []
        self._streams: set[Stream] = set()
        self._batches: dict[tuple[int, str | None], DatagramBatch] = {}
        self._feedback_options: tuple[int, str | None] | None = None
        self._running = False
        self._threads: list[threading.Thread] = []
        self._phases = itertools.count()
        self.packets_sent = 0
        self.bytes_sent = 0
        self.rtcp_sent = 0
        self.send_errors = 0
        self.lateness_counts = [0] * (len(LATENESS_BUCKETS) + 1)
        self.lateness_sum = 0.0
        self.lateness: list[float] | None = [] if record_lateness else None
        self._reports: dict[int, SpeakerReport] = {}
        self._recent: OrderedDict[int, None] = OrderedDict()  # SSRCs issued: never reused, RRs accepted
        self._feedback: socket.socket | None = None
        if feedback_bind is not None:
            self._feedback = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._feedback.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._feedback.bind(feedback_bind)
            self._feedback.settimeout(0.2)
        self._registry = registry
        self._collector: Any = None
        if registry is not None:
            from streaming.metrics import SenderCollector

            self._collector = SenderCollector(self)
            registry.register(self._collector)

    @property
    def feedback_address(self) -> tuple[str, int] | None:
        return self._feedback.getsockname() if self._feedback else None

    @property
    def active_streams(self) -> int:
        return len(self._streams)

    def start(self) -> PacedSender:
        if self._running:
            return self
        self._running = True
        if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
            sys.setswitchinterval(self.switch_interval)
        self._threads = [threading.Thread(target=self._run, name="loa-paced-sender", daemon=True)]
        if self._feedback is not None:
            self._threads.append(threading.Thread(target=self._listen, name="loa-rtcp-feedback", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        with self._lock:
            self._running = False
        self._notify()
        for thread in self._threads:
            thread.join(timeout=2)
        for batch in self._batches.values():
            batch.sock.close()
        if self._feedback is not None:
            self._feedback.close()
        if self._collector is not None and self._registry is not None:
            self._registry.unregister(self._collector)
            self._collector = None

    def __enter__(self) -> PacedSender:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_stream(
        self,
        destinations: Sequence[Destination],
        codec: OpusSettings | None = None,
        priority: Priority | int = Priority.NORMAL,
        cname: str = "loa-server",
        start_time: float | None = None,
    ) -> Stream:
        if not destinations:
            raise ValueError("a stream needs at least one destination")
        if int(priority) not in (1, 2, 3):
            raise ValueError(f"priority {priority} not in 1..3")
        # A golden-ratio sequence spreads phases evenly however many streams are open.
        phase = (next(self._phases) * 0.6180339887) % 1.0 * self.spread
        stream = Stream(
            self, destinations, codec or OpusSettings(), Priority(int(priority)), cname, start_time, phase
        )
        batches = [self._batch_for(d) for d in stream.destinations]
        stream._targets = [
            (batch.queued.append, batch.names.append, batch.address(d.address, d.port), session)
            for batch, d, session in zip(batches, stream.destinations, stream._srtp, strict=True)
        ]
        with self._lock:
            self._streams.add(stream)
        return stream

    def _new_ssrc(self) -> int:
        with self._lock:
            ssrc = secrets.randbits(32)
            while ssrc in self._recent:
                ssrc = secrets.randbits(32)
            self._recent[ssrc] = None
            if len(self._recent) > RECENT_STREAMS:
                self._recent.popitem(last=False)
            return ssrc

    def speakers(self) -> list[SpeakerReport]:
        with self._lock:
            return sorted(self._reports.values(), key=lambda r: (r.cname, r.ssrc))

    # --- internals ---

    def _enqueue(self, entries: list[Entry]) -> None:
        """Files packets by due time. A few hundred per hold of the lock, so that a long feed never holds
        up the sender thread."""
        slots, due = self._slots, self._due
        for chunk in range(0, len(entries), ENQUEUE_CHUNK):
            with self._lock:
                earliest = due[0] if due else None
                for entry in entries[chunk : chunk + ENQUEUE_CHUNK]:
                    slot = int(entry[0] * SLOTS_PER_SECOND)
                    waiting = slots.get(slot)
                    if waiting is None:
                        slots[slot] = [entry]
                        heapq.heappush(due, slot)
                    else:
                        waiting.append(entry)
                if earliest is None or due[0] < earliest:  # earlier than what the sender thread sleeps for
                    self._notify()

    def _notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # RuntimeError: a wake-up is already pending
            self._wake.release()

    def _batch_for(self, d: Destination) -> DatagramBatch:
        key = (d.ttl, d.interface)
        batch = self._batches.get(key)
        if batch is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            _set_multicast(sock, d)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            sock.setblocking(False)
            batch = self._batches[key] = DatagramBatch(sock)
        return batch

    def _run(self) -> None:
        slots, due, lock, wake = self._slots, self._due, self._lock, self._wake
        pop = heapq.heappop
        while True:
            with lock:
                if not self._running:
                    return
                now = time.time()
                # a slot leaves once its end is (nearly) reached: no packet goes more than EARLY early
                last = int((now + EARLY) * SLOTS_PER_SECOND) - 1
                sleep = min(0.5, (due[0] + 1) / SLOTS_PER_SECOND - EARLY - now) if due else 0.5
                # everything due now, in one hold of the lock; sent below without it
                batch: list[Entry] = []
                while due and due[0] <= last:
                    batch += slots.pop(pop(due))
            if batch:
                self._send(batch, now)
            else:  # until the next slot is due, or a packet due earlier is filed (_notify)
                wake.acquire(timeout=sleep)

    def _send(self, due: list[Entry], now: float) -> None:
        """One wake-up's packets, FLUSH_EVERY at a time (so that the first of a large batch need not
        wait for the last): a stream's first sender report before its first packet, the packets in one
        sendmmsg per socket, then the other sender reports and the BYEs."""
        byes: list[Report] = []
        reports: list[Report] = []
        for i in range(0, len(due), FLUSH_EVERY):
            self._send_packets(due[i : i + FLUSH_EVERY], now, byes, reports)
        for stream, send_at in reports:
            stream._refresh_keys()
            self._send_rtcp(stream, stream._sender_report(send_at, bye=False))
        for stream, send_at in byes:
            if stream._bye_sent:  # abort() after finish(): the first BYE ends the stream
                continue
            stream._bye_sent = True
            self._send_rtcp(stream, stream._sender_report(send_at, bye=True))
            stream.done.set()
            with self._lock:
                self._streams.discard(stream)

    def _send_packets(self, due: list[Entry], now: float, byes: list[Report], reports: list[Report]) -> None:
        """The loop below runs once per packet: keep it lean."""
        send_at_of: list[float] = []
        note = send_at_of.append
        errors = 0
        for send_at, stream, data in due:
            if data is None:
                byes.append((stream, send_at))
                continue
            if now >= stream._next_sr:  # a sender report is due, or the stream was aborted
                if stream._aborted:
                    continue
                # jittered (RFC 3550 §6.2 randomizes too), so that streams started together do not
                # all report in the same tick, delaying that tick's packets by the work of thousands
                stream._next_sr = now + self.sr_interval * (0.75 + 0.25 * random.random())
                if stream.first_packet_time is None:  # the first one goes before the packet: a keyed
                    stream.first_packet_time = now  # speaker plays nothing until it has it
                    self._send_rtcp(stream, stream._sender_report(send_at, bye=False))
                else:  # the others after this wake-up's packets, which need not wait for them
                    reports.append((stream, send_at))
            for queue, address, name, session in stream._targets:
                if session is None:
                    queue(data)
                else:
                    packet = stream._protect(session, data, False)
                    if packet is None:
                        errors += 1
                        continue
                    queue(packet)
                address(name)
            stream.frames_sent += 1
            stream.octets_sent += len(data) - 12
            note(send_at)
        for batch in list(self._batches.values()):
            if batch.queued:
                sent, nbytes, refused = batch.flush()
                self.packets_sent += sent
                self.bytes_sent += nbytes
                errors += refused
        self.send_errors += errors
        if send_at_of:
            self._record_lateness(time.time() - np.array(send_at_of))

    def _record_lateness(self, late: np.ndarray) -> None:
        late = np.maximum(late, 0.0)
        counts = np.bincount(np.searchsorted(_BUCKETS, late), minlength=len(self.lateness_counts))
        self.lateness_counts = [a + int(b) for a, b in zip(self.lateness_counts, counts, strict=True)]
        self.lateness_sum += float(late.sum())
        if self.lateness is not None:
            self.lateness.extend(late.tolist())

    def _send_rtcp(self, stream: Stream, plain: bytes) -> None:
        for d, session in zip(stream.destinations, stream._srtp, strict=True):
            data = stream._protect(session, plain, True)
            if data is None:
                self.send_errors += 1
                continue
            try:
                if self._feedback is not None:  # from the feedback port, so that replies come back there
                    if self._feedback_options != (d.ttl, d.interface):
                        _set_multicast(self._feedback, d)
                        self._feedback_options = (d.ttl, d.interface)
                    self._feedback.sendto(data, (d.address, d.port + 1))
                else:
                    self._batches[(d.ttl, d.interface)].sock.sendto(data, (d.address, d.port + 1))
                self.rtcp_sent += 1
            except OSError:
                self.send_errors += 1

    def _listen(self) -> None:
        assert self._feedback is not None
        while self._running:
            try:
                data, addr = self._feedback.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            received = time.time()
            try:
                packets = rtcp.parse_compound(data)
            except ValueError:
                continue
            self._handle_feedback(packets, addr, received)

    def _handle_feedback(self, packets: list[rtcp.Packet], addr: tuple[str, int], received: float) -> None:
        cnames: dict[int, str] = {}
        statuses: dict[int, rtcp.SpeakerStatus] = {}
        for p in packets:
            if isinstance(p, rtcp.AppPacket) and p.name == rtcp.LOA_TIME and p.subtype == 0:
                try:
                    (t1,) = rtcp.parse_time(p)
                except ValueError:
                    continue
                reply = rtcp.time_reply(0, t1, ntp_from_wall(received), ntp_from_wall(time.time()))
                assert self._feedback is not None
                try:
                    self._feedback.sendto(rtcp.serialize(reply), addr)
                except OSError:
                    self.send_errors += 1
            elif isinstance(p, rtcp.SourceDescription):
                for ssrc, _ in p.chunks:
                    cnames[ssrc] = p.cname(ssrc) or ""
            elif isinstance(p, rtcp.AppPacket) and p.name == rtcp.LOA_STATUS:
                try:
                    status = rtcp.SpeakerStatus.from_app(p)
                except ValueError:
                    continue
                statuses[status.ssrc] = status
        for p in packets:
            if not isinstance(p, rtcp.ReceiverReport) or not p.reports:
                continue
            block = p.reports[0]
            with self._lock:
                ours = block.ssrc in self._recent
                previous = self._reports.get(p.ssrc)
            if not ours:  # about no stream of ours: stale, misdirected or forged
                continue
            rtt = None
            if block.lsr:
                rtt = ((ntp_middle(ntp_from_wall(received)) - block.lsr - block.dlsr) & 0xFFFF_FFFF) / 65536
            found = statuses.get(p.ssrc)
            report = SpeakerReport(
                cname=cnames.get(p.ssrc, previous.cname if previous else ""),
                address=addr[0],
                ssrc=p.ssrc,
                media_ssrc=block.ssrc,
                fraction_lost=block.fraction_lost / 256,
                cumulative_lost=block.cumulative_lost,
                jitter_s=block.jitter / CLOCK_RATE,
                rtt_s=rtt if rtt is not None and rtt < 60 else None,
                playout_offset_s=found.playout_offset_us / 1e6 if found else None,
                underruns=found.underruns if found else 0,
                late_packets=found.late_packets if found else 0,
                playing_priority=found.playing_priority if found else 0,
                last_seen=received,
                rejected_packets=found.rejected_packets if found else 0,
            )
            with self._lock:
                if p.ssrc not in self._reports and len(self._reports) >= MAX_SPEAKERS:
                    oldest = min(self._reports.values(), key=lambda r: r.last_seen)
                    del self._reports[oldest.ssrc]
                self._reports[p.ssrc] = report
