"""A speaker's group keys: one SRTP session per joined group, fed from a provisioning file it re-reads.

With a keyring every group the speaker joins is SRTP-only: a datagram that does not authenticate under
one of the group's provisioned keys (no key, a wrong key, an expired or revoked key, a replay, plain RTP)
is dropped and counted by reason, and never reaches the jitter buffer. A group the file gives no keys for
accepts nothing until the file does (fail closed); :attr:`Keyring.missing` names such groups.

The file is the JSON document of :func:`streaming.provisioning.parse_provisioning`; its entries carry the
group's ``address`` (``ADDR:PORT``), which is how a speaker, which knows its groups only by address,
finds its keys (``loa keys export`` writes it). It is re-read when it changes on disk (checked every
``check_interval``) and on request (SIGHUP in ``loa speaker``). A file that fails to parse keeps the
keys in use and is reported in :attr:`last_error`: a half-written file never silences a speaker.
Stream state (rollover counters, replay windows) survives a reload, so a rotation causes no gap.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from streaming.provisioning import parse_provisioning, provisioning_addresses
from streaming.rtp import is_rtcp
from streaming.srtp import SrtpSession


class Keyring:
    def __init__(
        self,
        path: str | Path,
        groups: Sequence[str],
        *,
        clock: Callable[[], float] = time.time,
        check_interval: float = 1.0,
        extract: Callable[[str], str] | None = None,
    ) -> None:
        """``groups``: the speaker's groups as ``ADDR:PORT``. Raises ValueError if the file cannot be read
        the first time (a speaker must not start believing it is protected when it is not). ``extract``
        turns the file's text into key-file text (the keys inside a broker provisioning bundle)."""
        self.path = Path(path)
        self._extract = extract
        self.check_interval = check_interval
        self.sessions = {group: SrtpSession([], clock=clock) for group in groups}
        self.missing: list[str] = list(groups)
        self.reloads = 0
        self.reload_errors = 0
        self.last_error = ""
        self._signature: tuple[int, int, int] | None = None
        self._next_check = 0.0
        self._wanted = False
        self.reload()

    def reload(self) -> None:
        """Reads the file now and replaces every group's key ring; ValueError leaves them unchanged."""
        try:
            signature = self._stat()
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"keys file {self.path}: {exc.strerror or exc}") from None
        try:
            if self._extract is not None:
                text = self._extract(text)
            keys = parse_provisioning(text)
            addresses = provisioning_addresses(text)
        except ValueError as exc:
            raise ValueError(f"keys file {self.path}: {exc}") from None
        by_address = {addresses[g]: ring for g, ring in keys.items() if g in addresses}
        for group, session in self.sessions.items():
            session.set_keys(by_address.get(group, []))
        self.missing = [g for g in self.sessions if g not in by_address]
        self._signature = signature
        self.reloads += 1

    def request_reload(self) -> None:
        """Asks for a reload at the next :meth:`poll` (safe to call from a signal handler)."""
        self._wanted = True

    def poll(self, now: float) -> bool:
        """Reloads if asked to or if the file changed (checked at most every check_interval, ``now`` on a
        monotonic clock). Returns whether keys were reloaded; failures are counted, never raised."""
        if not self._wanted and now < self._next_check:
            return False
        self._next_check = now + self.check_interval
        try:
            if not self._wanted and self._stat() == self._signature:
                return False
        except OSError:
            return False  # the file is being replaced: try again at the next check
        self._wanted = False
        try:
            self.reload()
        except ValueError as exc:
            self.reload_errors += 1
            self.last_error = str(exc)
            return False
        self.last_error = ""
        return True

    def _stat(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return st.st_ino, st.st_mtime_ns, st.st_size

    def unprotect(self, group: str, data: bytes) -> bytes:
        """The plain RTP or RTCP datagram; a SrtpError subclass (already counted) if it is refused."""
        session = self.sessions[group]
        return session.unprotect_rtcp(data) if is_rtcp(data) else session.unprotect(data)

    def status(self) -> dict[str, dict[str, int]]:
        """Per group: packets passed, and dropped by reason (for the speaker's summary and metrics)."""
        out = {}
        for group, session in self.sessions.items():
            s = session.stats
            out[group] = {
                "accepted": s.unprotected,
                "rejected_authentication": s.authentication_failures - s.unknown_key,
                "rejected_unknown_key": s.unknown_key,
                "rejected_replay": s.replayed,
                "rejected_malformed": s.malformed,
                "keys": len(session.keys),
            }
        return out

    @property
    def rejected(self) -> int:
        return sum(s.stats.dropped for s in self.sessions.values())
