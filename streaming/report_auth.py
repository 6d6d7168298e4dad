"""Which speakers' reports the sender believes: SRTCP under a key of the group the report is about.

A receiver report can make a dead speaker look alive (``ListSpeakers``, ``/metrics``), and everything
a plain report says is forgeable: the SSRC it names is in clear text in every packet of the stream. On
an SRTP group the speakers hold the group key, so they send their RR + SDES + LOAR compound as SRTCP
under it (receiver.py), and the sender (feedback.py) takes a report only if it authenticates under a
key of a group the reported stream was sent to. Plain reports are still taken about streams that went
only to plain-RTP groups (third-party receivers hold no key).

:class:`ReportAuth` holds each group's key source (as the pacer's destinations give them), one receiving
SRTP session per group (its replay window per reporter, so a recorded report cannot be replayed), and
remembers which group each reporter authenticated under, so a genuine speaker costs one AES-GCM check
per report. A report from an unknown reporter is tried under every keyed group with a recent stream
(and every group of :attr:`ReportAuth.directory`, the server's keyed groups); those searches are limited
to ``search_rate`` a second, so a flood of forgeries costs bounded work.

Time requests (timesync.py) come the same way, as SRTCP under the speaker's group key; the reply is
sealed under the key that opened the request (:meth:`ReportAuth.seal`), so a speaker with keys believes
only replies from a holder of its group key. SRTCP is chosen over an HMAC keyed from the group key: the
AEAD, key derivation, MKI (the key across a rotation) and replay window exist and are tested already,
and a speaker needs no second construction. Replies carry this process's random SSRC, so that the
(key, SSRC, SRTCP index) nonce never repeats when the sender restarts under the same key.
"""

from __future__ import annotations

import secrets
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from streaming.srtp import (
    E_FLAG,
    MKI_LEN,
    RTCP_HEADER_LEN,
    SRTCP_INDEX_LEN,
    TAG_LEN,
    MasterKey,
    SrtpError,
    SrtpSession,
)

KeySource = Callable[[], Sequence[MasterKey]]
REFRESH_S = 1.0  # a group's keys are re-read at most this often (rotation reaches the check in 1 s)
MAX_REPORTERS = 10_000  # reporter SSRC -> group remembered (as feedback.MAX_SPEAKERS)
SRTCP_MIN = RTCP_HEADER_LEN + TAG_LEN + SRTCP_INDEX_LEN + MKI_LEN


def looks_like_srtcp(data: bytes) -> bool:
    """Shape only (RTCP version, room for tag, index and MKI, the E flag that Loa's SRTCP always sets);
    whether it is genuine only a key can tell."""
    if len(data) < SRTCP_MIN or data[0] >> 6 != 2:
        return False
    (word,) = struct.unpack_from("!I", data, len(data) - MKI_LEN - SRTCP_INDEX_LEN)
    return bool(word & E_FLAG)


class ReportAuth:
    def __init__(self, clock: Callable[[], float] = time.time, search_rate: float = 200.0) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: dict[str, KeySource | None] = {}  # group -> its keys; None: plain RTP
        self._sessions: dict[str, tuple[SrtpSession, float]] = {}  # group -> (session, keys read at)
        self._reporters: OrderedDict[int, str] = OrderedDict()
        self._search_rate = search_rate
        self._budget = search_rate
        self._budget_at = clock()
        self.searches_refused = 0  # unknown reporters not tried: over the search budget
        # every keyed group the sender may be asked about, not only those with a recent stream (a
        # speaker syncs its clock before the first broadcast); set by the server
        self.directory: Callable[[], Mapping[str, KeySource]] | None = None
        self._directory_at = float("-inf")
        self._directory_groups: list[str] = []
        self.reply_ssrc = secrets.randbits(32)

    def register(self, group: str, keys: KeySource | None) -> None:
        """The key source of ``group`` (a stream was opened to it); None: the group is plain RTP."""
        with self._lock:
            self._sources[group] = keys

    def keyed(self, group: str) -> bool:
        with self._lock:
            return self._sources.get(group) is not None

    def directory_groups(self) -> list[str]:
        """The groups of :attr:`directory` (registered with their key sources), re-read every REFRESH_S."""
        if self.directory is None:
            return []
        now = self._clock()
        if now - self._directory_at >= REFRESH_S:
            self._directory_at = now
            try:
                sources = dict(self.directory())
            except Exception:  # a failing directory keeps the groups known
                return self._directory_groups
            with self._lock:
                self._sources.update(sources)
            self._directory_groups = sorted(sources)
        return self._directory_groups

    def seal(self, group: str, packet: bytes) -> bytes | None:
        """A reply (one RTCP packet) as SRTCP under ``group``'s current key, from :attr:`reply_ssrc`;
        None if the group has no key in force."""
        reply = packet[:4] + struct.pack("!I", self.reply_ssrc) + packet[8:]
        with self._lock:
            session = self._session(group)
            if session is None:
                return None
            try:
                return session.protect_rtcp(reply)
            except SrtpError:
                return None

    def open(self, data: bytes, groups: Sequence[str]) -> tuple[bytes, str] | None:
        """(plain compound, the group whose key it authenticated under), trying ``groups`` (the keyed
        groups of recent streams; the reporter's last group first); None if no key opens it."""
        ssrc = struct.unpack_from("!I", data, 4)[0]
        with self._lock:
            known = self._reporters.get(ssrc)
            order = [known] if known is not None and known in groups else []
            if self._search_allowed():
                order += [g for g in groups if g != known]
            elif not order:
                self.searches_refused += 1
            for group in order:
                session = self._session(group)
                if session is None:
                    continue
                try:
                    plain = session.unprotect_rtcp(data)
                except SrtpError:
                    continue
                self._reporters[ssrc] = group
                self._reporters.move_to_end(ssrc)
                if len(self._reporters) > MAX_REPORTERS:
                    self._reporters.popitem(last=False)
                return plain, group
        return None

    def _search_allowed(self) -> bool:
        now = self._clock()
        self._budget = min(self._search_rate, self._budget + (now - self._budget_at) * self._search_rate)
        self._budget_at = now
        if self._budget < 1:
            return False
        self._budget -= 1
        return True

    def _session(self, group: str) -> SrtpSession | None:
        source = self._sources.get(group)
        if source is None:
            return None
        now = self._clock()
        held = self._sessions.get(group)
        if held is None or now - held[1] >= REFRESH_S:
            try:
                keys = list(source())
            except Exception:  # a failing key source keeps the keys in use
                keys = None
            session = held[0] if held else SrtpSession([], clock=self._clock)
            if keys is not None:
                session.set_keys(keys)
            self._sessions[group] = (session, now)
            return session
        return held[0]
