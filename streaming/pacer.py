"""One pacing thread for every concurrent stream: each datagram leaves at its due time.

How thousands of streams fit one thread: a stream files each packet at once (in the feeding thread) in
the 500 µs slot of its due time, so the pacer thread does no per-packet scheduling. It sleeps until the
earliest slot's end, takes every slot that has come, and hands their packets ``FLUSH_EVERY`` (64) at a
time to the transports (transport.py: queued per datagram, sent at each flush, one sendmmsg(2) per
socket for UDP): fewer system calls, yet the first packets of a large wake-up do not wait for its last.
A packet therefore leaves at most ``EARLY`` (0.1 ms) before its due time and, when the thread keeps up,
less than a slot after it; what it measures is the send lateness histogram.

RTCP (packetizer.py makes it): a stream's first sender report just before its first packet (SRTP
speakers hold a new stream until its first report), then one every 0.75–1 × ``sr_interval`` (jittered,
so that streams started together spread their reports) after that wake-up's packets, and its BYE when
it falls due. With ``feedback_bind``, RTCP is sent from that unicast port and speakers' receiver reports
and time-sync requests are answered there (feedback.py).

CPython passes the GIL to a waiting thread only every 5 ms by default, so a busy Python thread elsewhere
in the process (synthesis front-end, gRPC) would make packets up to 5 ms late. :meth:`PacedSender.start`
lowers that interval, process-wide, to ``switch_interval`` (1 ms) unless given None.

Interface::

    sender = PacedSender(registry=None, feedback_bind=("0.0.0.0", 5004))   # one per server
    sender.start()
    stream = sender.open_stream([Destination("239.1.2.3", 5004)], codec=OpusSettings(),
                                priority=Priority.NORMAL, cname="loa-server", start_time=None,
                                groups=("ap-1",))    # the id of each destination's group, or ()
    stream.feed(pcm)              # float32 mono 48 kHz, any length; encodes whole frames, never waits
    stream.feed_encoded(packets)  # or Opus packets from encode_pcm(), to reuse one encoding
    stream.finish(); stream.wait(timeout)      # or stream.abort() to stop now (preemption)
    stream.samples_fed, stream.samples_sent, stream.first_packet_time (wall), stream.media_time(n)
    sender.speakers()             # SpeakerReport per speaker that sent a receiver report
    sender.groups_of(ssrc)        # the ``groups`` a stream was opened with
    sender.close()

Every destination goes through each of ``transports`` that serves it (default: one UdpTransport; see
transport.py for the interface and how a sibling such as a broker publisher fits).

Metrics (with ``registry``, metrics.py): loa_rtp_packets_sent_total, loa_rtp_sent_bytes_total,
loa_rtcp_packets_sent_total, loa_rtp_send_errors_total, loa_rtp_active_streams,
loa_rtp_reporting_speakers, loa_rtp_send_lateness_seconds (histogram).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from streaming.feedback import FeedbackPort, SpeakerReport, SpeakerTable
from streaming.metrics import LATENESS_BUCKETS, SenderCollector
from streaming.opus import OpusSettings
from streaming.packetizer import FRAME_SECONDS, Destination, Entry, Route, Stream, phase_of, renumbered
from streaming.priority import Priority
from streaming.srtp import SrtpSession
from streaming.transport import Sink, Transport, UdpTransport

_BUCKETS = np.array(LATENESS_BUCKETS)
EARLY = 0.0001  # a packet due this soon is sent now: cheaper than a wake-up, and harmless to receivers
SLOTS_PER_SECOND = 2000  # packets are grouped in 500 µs slots of due time; a slot leaves as one batch
ENQUEUE_CHUNK = 256
FLUSH_EVERY = 64  # packets per flush at most: the first of a large batch leaves without waiting for all

Report = tuple[Stream, float]  # an RTCP report (SR, or SR + BYE) to send for the stream, and its time
# a sender report after a wake-up's packets: its stream, time, and the packet and octet counts as of then
LaterReport = tuple[Stream, float, tuple[int, int]]


def _fan_out(sinks: list[Sink]) -> Sink:
    if len(sinks) == 1:
        return sinks[0]

    def deliver(datagram: bytes) -> None:
        for sink in sinks:
            sink(datagram)

    return deliver


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
        transports: Sequence[Transport] | None = None,
    ) -> None:
        if not 0 < sr_interval <= 1:
            raise ValueError("sr_interval must be in (0, 1] seconds (RTCP SR at least every second)")
        if not 0 <= spread < FRAME_SECONDS:
            raise ValueError("spread must be in [0, 0.02) seconds")
        self.sr_interval = sr_interval
        self.switch_interval = switch_interval
        self.spread = spread
        self._lock = threading.Lock()  # the slots and the stream set
        # held while the pacer thread sleeps; released to wake it (a binary semaphore: cheaper per
        # wake-up than a Condition, which the thread would pay thousands of times a second)
        self._wake = threading.Lock()
        self._wake.acquire()
        # packets waiting (with BYEs), by the time slot of their due time, and a heap of the slots in use
        self._slots: dict[int, list[Entry]] = {}
        self._due: list[int] = []
        self._streams: set[Stream] = set()
        # each plain group's latest stream (and the group's index among its destinations), whose
        # numbering the group's next stream continues
        self._timelines: dict[tuple[str, int], tuple[Stream, int]] = {}
        self._running = False
        self._thread: threading.Thread | None = None
        self._phases = itertools.count()
        self.packets_sent = 0
        self.bytes_sent = 0
        self.rtcp_sent = 0
        self._send_errors = 0
        self.lateness_counts = [0] * (len(LATENESS_BUCKETS) + 1)
        self.lateness_sum = 0.0
        self.lateness: list[float] | None = [] if record_lateness else None
        self.feedback = SpeakerTable()
        self._port = FeedbackPort(feedback_bind, self.feedback) if feedback_bind is not None else None
        self.transports: list[Transport] = (
            list(transports) if transports else [UdpTransport(self._port.sock if self._port else None)]
        )
        self._registry = registry
        self._collector: SenderCollector | None = None
        if registry is not None:
            self._collector = SenderCollector(self)
            registry.register(self._collector)

    @property
    def feedback_address(self) -> tuple[str, int] | None:
        return self._port.address if self._port else None

    @property
    def active_streams(self) -> int:
        return len(self._streams)

    @property
    def send_errors(self) -> int:
        """Datagrams not sent: refused by the kernel or a transport, or with no key to protect them."""
        return self._send_errors + (self._port.send_errors if self._port else 0)

    def speakers(self) -> list[SpeakerReport]:
        return self.feedback.speakers()

    def groups_of(self, ssrc: int) -> tuple[str, ...]:
        return self.feedback.groups_of(ssrc)

    def report_rejections(self) -> dict[str, int]:
        """Receiver reports refused (forged, unauthenticated, ...), by reason (feedback.py)."""
        return self.feedback.rejections()

    def group_streams(self) -> dict[str, int]:
        """Group id → streams open to it now (the groups on air), for the metrics."""
        with self._lock:
            ssrcs = [stream.ssrc for stream in self._streams]
        counts: dict[str, int] = {}
        for ssrc in ssrcs:
            for group in self.groups_of(ssrc):
                counts[group] = counts.get(group, 0) + 1
        return counts

    def start(self) -> PacedSender:
        if self._running:
            return self
        self._running = True
        if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
            sys.setswitchinterval(self.switch_interval)
        self._thread = threading.Thread(target=self._run, name="loa-paced-sender", daemon=True)
        self._thread.start()
        if self._port is not None:
            self._port.start()
        return self

    def close(self) -> None:
        with self._lock:
            self._running = False
        self._notify()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._port is not None:
            self._port.close()
        for transport in self.transports:
            transport.close()
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
        groups: Sequence[str] = (),
        *,
        ssrc: int | None = None,
        seq0: int | None = None,
        ts0: int | None = None,
        label: str = "",
    ) -> Stream:
        """A new stream to ``destinations``. ``groups`` names each destination's group (the server's ids,
        in the same order): transports that address groups by id use them, and :meth:`groups_of` answers
        them for the stream's SSRC. ``ssrc``, ``seq0``, ``ts0`` (all three, with ``start_time``):
        reproduce a stream rendered ahead (streaming/ahead.py) datagram for datagram, fed the same Opus
        frames; its phase then follows from its SSRC (packetizer.phase_of)."""
        if not destinations:
            raise ValueError("a stream needs at least one destination")
        if groups and len(groups) != len(destinations):
            raise ValueError(f"{len(groups)} group ids for {len(destinations)} destinations")
        if int(priority) not in (1, 2, 3):
            raise ValueError(f"priority {priority} not in 1..3")
        if (ssrc is None) != (seq0 is None) or (seq0 is None) != (ts0 is None):
            raise ValueError("ssrc, seq0 and ts0 go together")
        if ssrc is None:
            # A golden-ratio sequence spreads phases evenly however many streams are open.
            phase = (next(self._phases) * 0.6180339887) % 1.0 * self.spread
            ssrc = self.feedback.new_ssrc(groups)
        else:
            phase = phase_of(ssrc, self.spread)
            self.feedback.claim_ssrc(ssrc, groups)
        starts = self._continued_seqs(destinations) if seq0 is None else None
        stream = Stream(
            destinations,
            codec or OpusSettings(),
            Priority(int(priority)),
            cname,
            start_time,
            ssrc=ssrc,
            phase=phase,
            enqueue=self._enqueue,
            seq0=seq0,
            ts0=ts0,
            label=label,
            continue_seq=starts[0] if starts else None,
        )
        if stream.on_group_timeline and starts:
            stream.seq_offsets = [(start - starts[0]) & 0xFFFF for start in starts]
            with self._lock:
                for i, d in enumerate(destinations):
                    self._timelines[(d.address, d.port)] = (stream, i)
        ids = groups or ("",) * len(destinations)
        routes = zip(stream.destinations, ids, stream.sessions, strict=True)
        stream.routes = [self._route(d, group_id, session) for d, group_id, session in routes]
        # reports about this stream must authenticate under a key of one of its groups (report_auth.py)
        keyed = zip(stream.destinations, ids, strict=True)
        self.feedback.bind_keys(ssrc, [(g or f"{d.address}:{d.port}", d.keys) for d, g in keyed])
        with self._lock:
            self._streams.add(stream)
        return stream

    def _continued_seqs(self, destinations: Sequence[Destination]) -> list[int] | None:
        """For a stream to plain groups only: each group's first sequence number, continuing the group's
        previous stream (packetizer.py: one RTP timeline per plain group, for third-party receivers;
        ffmpeg drops a stream whose numbering jumps backwards). A stream to several groups sends each
        its own numbering (Stream.seq_offsets). A group's first stream starts where a packet every 20 ms
        since 1970 would be. None for SRTP (random origins)."""
        if any(d.keys is not None for d in destinations):
            return None
        wall = int(time.time() / FRAME_SECONDS) & 0xFFFF
        with self._lock:
            previous = [self._timelines.get((d.address, d.port)) for d in destinations]
        return [wall if p is None else p[0].next_seq(p[1]) for p in previous]

    def _route(self, d: Destination, group_id: str, session: SrtpSession | None) -> Route:
        served = [(t, sink) for t in self.transports if (sink := t.sink(d, group_id)) is not None]
        if not served:
            raise ValueError(f"destination {d.address}:{d.port}: no transport serves it")
        return (_fan_out([sink for _, sink in served]), session, d, group_id, tuple(t for t, _ in served))

    # --- internals ---

    def _enqueue(self, entries: list[Entry]) -> None:
        """Files packets by due time. A few hundred per hold of the lock, so that a long feed never holds
        up the pacer thread."""
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
                if earliest is None or due[0] < earliest:  # earlier than what the pacer thread sleeps for
                    self._notify()

    def _notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # RuntimeError: a wake-up is already pending
            self._wake.release()

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
        wait for the last): a stream's first sender report before its first packet, the packets, then
        the other sender reports and the BYEs."""
        byes: list[Report] = []
        reports: list[LaterReport] = []
        for i in range(0, len(due), FLUSH_EVERY):
            self._send_packets(due[i : i + FLUSH_EVERY], now, byes, reports)
        for stream, send_at, counts in reports:
            stream.refresh_keys()
            self._send_rtcp(stream, stream.sender_report(send_at, bye=False, counts=counts))
        for stream, send_at in byes:
            if stream.bye_sent:  # abort() after finish(): the first BYE ends the stream
                continue
            stream.bye_sent = True
            self._send_rtcp(stream, stream.bye(send_at))
            stream.done.set()
            with self._lock:
                self._streams.discard(stream)

    def _send_packets(
        self, due: list[Entry], now: float, byes: list[Report], reports: list[LaterReport]
    ) -> None:
        """The loop below runs once per packet: keep it lean."""
        send_at_of: list[float] = []
        note = send_at_of.append
        errors = 0
        for send_at, stream, data in due:
            if data is None:
                byes.append((stream, send_at))
                continue
            # a sender report goes with this packet (by due time, jittered: Stream.next_report), or the
            # stream was aborted
            if send_at >= stream.next_sr:
                if stream.aborted:
                    continue
                stream.next_report(send_at, self.sr_interval)
                if stream.first_packet_time is None:  # the first one goes before the packet: a keyed
                    stream.first_packet_time = now  # speaker plays nothing until it has it
                    self._send_rtcp(stream, stream.sender_report(send_at, bye=False))
                else:  # the others after this wake-up's packets, which need not wait for them; their
                    # counts as of this packet, so that they do not depend on how packets were batched
                    reports.append((stream, send_at, (stream.frames_sent, stream.octets_sent)))
            for (deliver, session, _, _, _), offset in zip(stream.routes, stream.seq_offsets, strict=True):
                if session is None:
                    deliver(renumbered(data, offset) if offset else data)
                else:
                    packet = stream.protect(session, data, False)
                    if packet is None:
                        errors += 1
                        continue
                    deliver(packet)
            stream.frames_sent += 1
            stream.octets_sent += len(data) - 12
            note(send_at)
        for transport in self.transports:
            sent, nbytes, refused = transport.flush()
            self.packets_sent += sent
            self.bytes_sent += nbytes
            errors += refused
        self._send_errors += errors
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
        for _, session, d, group_id, transports in stream.routes:
            data = stream.protect(session, plain, True)
            if data is None:
                self._send_errors += 1
                continue
            for transport in transports:
                if transport.send_rtcp(d, group_id, data):
                    self.rtcp_sent += 1
                else:
                    self._send_errors += 1
