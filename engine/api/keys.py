"""Group master keys for SRTP: a key ring per group, kept in the state directory, rotated with overlap.

The file (``group-keys.json``, mode 0600) is a provisioning document (streaming/provisioning.py) without the
addresses: the server reads it for every stream it opens, ``loa keys`` edits it (also while the server
runs: every read checks whether the file changed, and writes are atomic and serialized by a lock file),
and exports add each group's multicast ``ADDR:PORT`` so that speakers, which know their groups by
address, find their keys.

Rotation: a new key (MKI = highest + 1) becomes the senders' key at its ``not_before`` (``lead_s`` from
now, time for speakers to be re-provisioned); every older key gets ``not_after`` = that moment +
``overlap_s`` (late packets, clocks that differ), after which speakers refuse it and the store forgets it.
``lead_s = overlap_s = 0`` revokes the old keys at once (a key was stolen; speakers not yet re-provisioned
go silent rather than accept the thief).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from streaming.provisioning import dump_provisioning, parse_provisioning
from streaming.srtp import MasterKey

KEYS_FILE = "group-keys.json"
DEFAULT_LEAD_S = 60.0
DEFAULT_OVERLAP_S = 300.0


class AddressedGroup(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def multicast_address(self) -> str: ...

    @property
    def port(self) -> int: ...


class KeyStore:
    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._rings: dict[str, list[MasterKey]] = {}
        self._signature: tuple[int, int, int] | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._refresh()

    @classmethod
    def in_state_dir(cls, state_dir: str | Path) -> KeyStore:
        return cls(Path(state_dir) / KEYS_FILE)

    # --- reading ---------------------------------------------------------------------------------

    def keys(self, group_id: str) -> list[MasterKey]:
        """The group's keys that are not expired, oldest first; [] if it has none (plain RTP)."""
        now = self._clock()
        with self._lock:
            self._refresh()
            return [k for k in self._rings.get(group_id, []) if k.not_after is None or k.not_after > now]

    def groups(self) -> list[str]:
        with self._lock:
            self._refresh()
            return sorted(self._rings)

    def key_source(self, group_id: str) -> Callable[[], list[MasterKey]] | None:
        """What a sender Destination polls for the group's current keys; None if it has none."""
        if not self.keys(group_id):
            return None
        return lambda: self.keys(group_id)

    def provisioning(self, groups: Sequence[AddressedGroup]) -> str:
        """The provisioning file for these groups' speakers (secrets: write it with mode 0600).
        ValueError names a group without keys."""
        rings, addresses = {}, {}
        for i, group in enumerate(groups):
            ring = self.keys(group.id)
            if not ring:
                raise ValueError(f"group_ids[{i}]: group {group.id!r} has no SRTP keys (plain RTP)")
            rings[group.id] = ring
            addresses[group.id] = f"{group.multicast_address}:{group.port}"
        return dump_provisioning(rings, addresses)

    # --- changing --------------------------------------------------------------------------------

    def ensure(self, group_id: str) -> list[MasterKey]:
        """Gives the group its first key (usable now) unless it has one."""
        with self._editing() as rings:
            if not rings.get(group_id):
                rings[group_id] = [MasterKey.generate(1, not_before=self._clock())]
        return self.keys(group_id)

    def rotate(
        self, group_id: str, lead_s: float = DEFAULT_LEAD_S, overlap_s: float = DEFAULT_OVERLAP_S
    ) -> MasterKey:
        """Adds a new key that senders use from now + lead_s; older keys expire overlap_s after that.
        A group without keys gets its first one (usable after lead_s)."""
        if lead_s < 0 or overlap_s < 0:
            raise ValueError("lead_s and overlap_s: must not be negative")
        with self._editing() as rings:
            now = self._clock()
            old = rings.get(group_id, [])
            switch = now + lead_s
            new = MasterKey.generate(max((k.mki for k in old), default=0) + 1, not_before=switch)
            ends = switch + overlap_s
            kept = []
            for k in old:
                not_after = ends if k.not_after is None else min(k.not_after, ends)
                if not_after > now:
                    kept.append(
                        MasterKey(k.mki, k.key, k.salt, k.not_before, max(not_after, k.not_before + 1e-3))
                    )
            rings[group_id] = [*kept, new]
        return next(k for k in self.keys(group_id) if k.mki == new.mki)

    def remove(self, group_id: str) -> bool:
        """Forgets the group's keys (the group is deleted, or goes back to plain RTP)."""
        with self._editing() as rings:
            return rings.pop(group_id, None) is not None

    # --- file ------------------------------------------------------------------------------------

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _refresh(self) -> None:
        """Caller holds the lock. Re-reads the file if another process (``loa keys``) changed it."""
        signature = self._stat()
        if signature == self._signature:
            return
        if signature is None:
            self._rings = {}
        else:
            text = self.path.read_text(encoding="utf-8")
            try:
                self._rings = parse_provisioning(text) if text.strip() else {}
            except ValueError as exc:
                raise ValueError(f"{self.path}: {exc}") from None
        self._signature = signature

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, list[MasterKey]]]:
        """Read-modify-write under the thread lock and an exclusive lock file; atomic replace."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._lock, open(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._signature = None  # always re-read under the file lock
            self._refresh()
            rings = {g: list(ring) for g, ring in self._rings.items()}
            yield rings
            text = dump_provisioning({g: ring for g, ring in rings.items() if ring})
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self._rings = parse_provisioning(text)  # times as the file holds them (microseconds)
            self._signature = self._stat()
