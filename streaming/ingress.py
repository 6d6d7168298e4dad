"""A speaker's packet path: every datagram a group socket receives goes through :meth:`Ingress.receive`.

SRTP first (when the speaker has a keyring), then the playout's jitter buffers, so nothing that fails
authentication, replay or key checks can reach a decoder; with a keyring, the playout must also hold new
SSRCs until a live sender report (``Playout(sr_tolerance=...)``), since SRTP cannot tell an old
broadcast's packets replayed to a speaker that forgot them from new ones. No sockets and no clock here:
the receiver passes datagrams and arrival times in, so the whole path can be driven as data (and
fuzzed). It never raises on a datagram's content: the outcome string says what became of it (a bounded
set, used as a metric label).

A speaker may hear a group on two paths (multicast and a broker subscription) carrying the very same
protected datagrams. The second copy would fail SRTP's replay check and be counted as an attack, so
:class:`PathCopies` remembers the datagrams that passed, with the path that brought them: the same bytes
from another path are a ``duplicate``, not a replay. The same bytes again on the same path still go to
SRTP (a replay on the LAN is still caught and counted), and only authenticated datagrams are remembered,
so nothing forged can make a genuine packet look like a copy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from streaming.keyring import Keyring
from streaming.playout import Playout
from streaming.srtp import AuthenticationError, ReplayError, SrtpError, UnknownKeyError

MAX_DATAGRAM = 2048  # the receiver reads at most this much; anything longer was cut and is refused

OUTCOMES = (
    "ok",
    "rtcp",
    "duplicate",
    "late",
    "overflow",
    "invalid",
    "rejected_authentication",
    "rejected_unknown_key",
    "rejected_replay",
    "rejected_malformed",
    "held",  # keyed group: RTP of a new SSRC, waiting for its first live sender report
    "rejected_stale",  # keyed group: a new SSRC's authenticated sender report is not the present
    "rejected_unverified",  # keyed group: RTP of a new SSRC whose sender report was stale
)


class PathCopies:
    """The last ``limit`` accepted datagrams of each group (by hash), with the path each first came by.

    4096 at 50 packets a second per stream is ~40 s for two streams: far more than one path can lag the
    other and still be played (the playout delay, 0.5-1.5 s)."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._seen: dict[str, OrderedDict[int, str]] = {}

    def copy(self, group: str, data: bytes, path: str) -> bool:
        """Whether ``data`` already passed on another path."""
        seen = self._seen.get(group)
        first = seen.get(hash(data)) if seen is not None else None
        return first is not None and first != path

    def passed(self, group: str, data: bytes, path: str) -> None:
        seen = self._seen.setdefault(group, OrderedDict())
        seen.setdefault(hash(data), path)
        if len(seen) > self._limit:
            seen.popitem(last=False)


def rejection(exc: SrtpError) -> str:
    if isinstance(exc, UnknownKeyError):
        return "rejected_unknown_key"
    if isinstance(exc, AuthenticationError):
        return "rejected_authentication"
    if isinstance(exc, ReplayError):
        return "rejected_replay"
    return "rejected_malformed"


class Ingress:
    def __init__(
        self, playout: Playout, keyring: Keyring | None = None, lock: threading.Lock | None = None
    ) -> None:
        if keyring is not None and playout.sr_tolerance is None:
            raise ValueError("a keyed speaker's playout needs sr_tolerance: SRTP alone lets replays in")
        self.playout = playout
        self.keyring = keyring
        self.lock = lock or threading.Lock()  # shared with the playout thread that renders
        self.copies = PathCopies()
        self.path_copies = 0  # datagrams dropped as copies of one that came on another path

    def receive(
        self,
        group: str,
        data: bytes,
        arrival: float,
        source: tuple[str, int] | None = None,
        offset: float | None = 0.0,
        path: str = "multicast",
    ) -> str:
        """One datagram from ``group`` (``ADDR:PORT``): one of :data:`OUTCOMES`. ``offset``: sender clock
        minus local clock (None: time sync has no sample yet), for the playout's freshness check. ``path``
        names the source that brought it (see :class:`PathCopies`)."""
        if group not in self.playout.groups or len(data) > MAX_DATAGRAM:
            return "invalid"
        if self.copies.copy(group, data, path):
            self.path_copies += 1
            return "duplicate"
        protected = data
        if self.keyring is not None:
            try:
                data = self.keyring.unprotect(group, data)
            except SrtpError as exc:
                return rejection(exc)
        self.copies.passed(group, protected, path)
        with self.lock:
            return self.playout.on_datagram(group, data, arrival, source, offset)
