"""What speakers tell the sender: the RTCP feedback port, the speaker table, and the groups of each stream.

A speaker sends receiver reports (RR + SDES CNAME + Loa's LOAR status) to the source address of the
sender reports, which is this port when the sender has one, and asks it for the time (timesync.py
answers). On an SRTP group the report is SRTCP under the group key (report_auth.py): it is taken only if
it authenticates under a key of a group the reported stream was sent to; plain reports count only about
streams to plain-RTP groups. What is refused is counted by reason (:meth:`SpeakerTable.rejections`,
metric ``loa_speaker_reports_rejected_total``), never shown as a speaker. :class:`SpeakerTable` keeps the
latest accepted report of each speaker, only about streams this sender opened lately (the report block
names the stream's SSRC) and at most ``MAX_SPEAKERS`` of them (the least recently heard goes first), so
forged reports cannot grow memory.

The same table issues the SSRCs: a fresh random one per stream, never one of the last
``RECENT_STREAMS`` (so no (key, SSRC, index) nonce repeats under SRTP), remembered with the ids of the
groups the stream went to, which is how a report finds its group (:meth:`SpeakerTable.groups_of`).
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from streaming import rtcp, timesync
from streaming.clock import ntp_from_wall, ntp_middle
from streaming.report_auth import KeySource, ReportAuth, looks_like_srtcp
from streaming.rtp import CLOCK_RATE

MAX_SPEAKERS = 10_000  # receiver reports kept (the least recently heard speaker goes first)
RECENT_STREAMS = 4096  # SSRCs of streams opened lately, whose receiver reports are accepted
MAX_RTT_S = 60.0  # a longer round trip is a stale or forged LSR, not a measurement
# why a receiver report was not taken (metric label values, all exported from zero)
REJECTIONS = (
    "unauthenticated",  # plain RTCP about a stream sent to SRTP groups
    "forged",  # SRTCP that no key of a recent stream's group opens (or a replayed index)
    "wrong_group",  # authentic under one group's key, about a stream that did not go to that group
    "unknown_stream",  # about no stream this sender opened lately
)


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


class SpeakerTable:
    """Streams opened lately (SSRC → group ids) and the last receiver report of each speaker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: dict[int, SpeakerReport] = {}
        self._streams: OrderedDict[int, tuple[str, ...]] = OrderedDict()  # newest last
        # SSRC -> the groups whose keys may authenticate reports about it (ids, else ADDR:PORT)
        self._labels: OrderedDict[int, tuple[str, ...]] = OrderedDict()
        self.auth = ReportAuth()
        self._rejected = dict.fromkeys(REJECTIONS, 0)

    def new_ssrc(self, groups: Sequence[str] = ()) -> int:
        """A fresh SSRC for a stream to ``groups`` (ids, for :meth:`groups_of`): never a recent one."""
        with self._lock:
            ssrc = secrets.randbits(32)
            while ssrc in self._streams:
                ssrc = secrets.randbits(32)
            self._streams[ssrc] = tuple(groups)
            if len(self._streams) > RECENT_STREAMS:
                self._streams.popitem(last=False)
            return ssrc

    def claim_ssrc(self, ssrc: int, groups: Sequence[str] = ()) -> None:
        """Records a stream whose SSRC was fixed in advance (streaming/ahead.py), like :meth:`new_ssrc`:
        later new SSRCs avoid it, and :meth:`groups_of` answers for it."""
        with self._lock:
            self._streams[ssrc] = tuple(groups)
            self._streams.move_to_end(ssrc)
            if len(self._streams) > RECENT_STREAMS:
                self._streams.popitem(last=False)

    def bind_keys(self, ssrc: int, routes: Sequence[tuple[str, KeySource | None]]) -> None:
        """The stream ``ssrc`` went to these groups (label, key source; None: plain RTP): reports about
        it must authenticate under one of their keys, unless one of them is plain."""
        for label, keys in routes:
            self.auth.register(label, keys)
        with self._lock:
            self._labels[ssrc] = tuple(label for label, _ in routes)
            self._labels.move_to_end(ssrc)
            if len(self._labels) > RECENT_STREAMS:
                self._labels.popitem(last=False)

    def keyed_groups(self) -> list[str]:
        """The keyed groups of recent streams: those whose keys a report may be tried under."""
        with self._lock:
            labels = {label for labels in self._labels.values() for label in labels}
        recent = sorted(label for label in labels if self.auth.keyed(label))
        return recent + [g for g in self.auth.directory_groups() if g not in labels]

    def reject(self, reason: str) -> None:
        with self._lock:
            self._rejected[reason] += 1

    def rejections(self) -> dict[str, int]:
        """Receiver reports refused, by reason (REJECTIONS)."""
        with self._lock:
            return dict(self._rejected)

    def _admissible(self, media_ssrc: int, group: str | None) -> str | None:
        """Why a report about ``media_ssrc`` that authenticated under ``group`` (None: plain) is refused;
        None if it is taken. Called with the lock held."""
        if media_ssrc not in self._streams:
            return "unknown_stream"
        labels = self._labels.get(media_ssrc, ())
        if group is not None:
            return None if group in labels else "wrong_group"
        if labels and all(self.auth.keyed(label) for label in labels):
            return "unauthenticated"
        return None

    def groups_of(self, ssrc: int) -> tuple[str, ...]:
        """The group ids a recent stream went to, by its SSRC; () if unknown."""
        with self._lock:
            return self._streams.get(ssrc, ())

    def speakers(self) -> list[SpeakerReport]:
        with self._lock:
            return sorted(self._reports.values(), key=lambda r: (r.cname, r.ssrc))

    def on_packets(
        self,
        packets: Sequence[rtcp.Packet],
        addr: tuple[str, int],
        received: float,
        group: str | None = None,
    ) -> None:
        """One compound packet from ``addr``, authenticated under ``group``'s key (None: plain RTCP):
        its receiver reports about our streams go in the table if :meth:`_admissible`."""
        cnames: dict[int, str] = {}
        statuses: dict[int, rtcp.SpeakerStatus] = {}
        for p in packets:
            if isinstance(p, rtcp.SourceDescription):
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
                refused = self._admissible(block.ssrc, group)
                previous = self._reports.get(p.ssrc)
                if refused is not None:  # stale, misdirected, or not from a holder of the key
                    self._rejected[refused] += 1
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
                rtt_s=rtt if rtt is not None and rtt < MAX_RTT_S else None,
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


class FeedbackPort:
    """The sender's unicast RTCP port: one thread reads it, answers time requests, and fills the table.

    The pacer's UDP transport sends sender reports from this socket (:attr:`sock`), so that speakers'
    replies come back here.
    """

    def __init__(self, bind: tuple[str, int], table: SpeakerTable) -> None:
        self.table = table
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(bind)
        self.sock.settimeout(0.2)
        self.send_errors = 0  # time replies the kernel refused
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="loa-rtcp-feedback", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        address: tuple[str, int] = self.sock.getsockname()
        return address

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.sock.close()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            received = time.time()
            group = None
            if looks_like_srtcp(data):
                opened = self.table.auth.open(data, self.table.keyed_groups())
                if opened is not None:
                    data, group = opened
            try:
                packets = rtcp.parse_compound(data)
            except ValueError:
                if looks_like_srtcp(data):
                    self.table.reject("forged")
                continue
            for p in packets:
                reply = timesync.answer(p, received, time.time())
                if reply is not None and group is not None:
                    reply = self.table.auth.seal(group, reply)  # under the key the request came in
                if reply is not None:
                    try:
                        self.sock.sendto(reply, addr)
                    except OSError:
                        self.send_errors += 1
            self.table.on_packets(packets, addr, received, group)
