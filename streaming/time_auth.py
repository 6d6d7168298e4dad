"""The speaker's side of authenticated time sync over RTCP (``loa speaker --time-sync``).

Whoever can answer a speaker's time request can move its clock, and a speaker playing at the wrong time
is silenced or out of step with its neighbours (issue #12: forged replies at 20/s silenced three
speakers; at 200/s one moved 300 ms). With keys, a request goes out as SRTCP under the key of one of
the speaker's groups and only a reply that authenticates under that group's keys counts: the sender
seals it under the key that opened the request (report_auth.py). SRTCP's replay window refuses a reply
seen before, and timesync.py still matches each reply to an outstanding t1 and bounds a jump. A reply
from any address other than the configured ``--time-sync`` source is dropped before any of that (cheap,
though a source address can be spoofed: the key is what holds). Without keys the exchange stays plain
(a deployment without SRTP has no key to hold), still only from the configured source.

Every refusal is counted by reason (:attr:`TimeReplyGate.rejected`, the summary's ``timesync`` block).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import AbstractContextManager

from streaming.keyring import Keyring
from streaming.report_auth import looks_like_srtcp
from streaming.srtp import SrtpError, SrtpSession

REASONS = ("foreign_source", "unauthenticated", "forged")


class TimeReplyGate:
    def __init__(
        self,
        source: tuple[str, int],
        keyring: Keyring | None,
        lock: Callable[[], AbstractContextManager[object]],
    ) -> None:
        """``source``: the configured time server; ``lock``: what guards the keyring's sessions (the
        ingress uses them from the network and broker threads)."""
        try:
            host = socket.gethostbyname(source[0])
        except OSError:
            host = source[0]
        self.source = (host, source[1])
        self.keyring = keyring
        self._lock = lock
        self._group: str | None = None  # the group whose key sealed the last request
        self.rejected = dict.fromkeys(REASONS, 0)

    def _session(self) -> SrtpSession | None:
        assert self.keyring is not None
        if self._group is not None:
            return self.keyring.sessions[self._group]
        for group, session in self.keyring.sessions.items():
            if session.keys:
                self._group = group
                return session
        return None

    def seal(self, request: bytes) -> bytes | None:
        """The request as sent: SRTCP under a group key with keys (None if no key is active yet)."""
        if self.keyring is None:
            return request
        with self._lock():
            session = self._session()
            if session is None:
                return None
            try:
                return session.protect_rtcp(request)
            except SrtpError:
                self._group = None  # that group's keys are gone: try another next time
                return None

    def open(self, data: bytes, source: tuple[str, int]) -> bytes | None:
        """The plain RTCP of a reply that may count; None (counted) if it may not."""
        if (source[0], source[1]) != self.source:
            self.rejected["foreign_source"] += 1
            return None
        if self.keyring is None:
            return data
        if not looks_like_srtcp(data) or self._group is None:
            self.rejected["unauthenticated"] += 1
            return None
        with self._lock():
            try:
                return self.keyring.sessions[self._group].unprotect_rtcp(data)
            except SrtpError:
                self.rejected["forged"] += 1
                return None
