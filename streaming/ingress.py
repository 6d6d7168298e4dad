"""A speaker's packet path: every datagram a group socket receives goes through :meth:`Ingress.receive`.

SRTP first (when the speaker has a keyring), then the playout's jitter buffers, so nothing that fails
authentication, replay or key checks can reach a decoder; with a keyring, the playout must also hold new
SSRCs until a live sender report (``Playout(sr_tolerance=...)``), since SRTP cannot tell an old
broadcast's packets replayed to a speaker that forgot them from new ones. No sockets and no clock here:
the receiver passes datagrams and arrival times in, so the whole path can be driven as data (and
fuzzed). It never raises on a datagram's content: the outcome string says what became of it (a bounded
set, used as a metric label).
"""

from __future__ import annotations

import threading

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

    def receive(
        self,
        group: str,
        data: bytes,
        arrival: float,
        source: tuple[str, int] | None = None,
        offset: float | None = 0.0,
    ) -> str:
        """One datagram from ``group`` (``ADDR:PORT``): one of :data:`OUTCOMES`. ``offset``: sender clock
        minus local clock (None: time sync has no sample yet), for the playout's freshness check."""
        if group not in self.playout.groups or len(data) > MAX_DATAGRAM:
            return "invalid"
        if self.keyring is not None:
            try:
                data = self.keyring.unprotect(group, data)
            except SrtpError as exc:
                return rejection(exc)
        with self.lock:
            return self.playout.on_datagram(group, data, arrival, source, offset)
