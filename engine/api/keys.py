"""Group master keys for SRTP: a key ring per group, kept in the store (table group_keys), rotated with
overlap.

The keys live in the same SQLite file as the groups, so a group and its first key are written in one
transaction (Store.create_group with srtp) and a deleted group's keys go with it. The server reads a
group's keys for every stream it opens and at every sender report; ``loa keys`` changes them in another
process, also while the server runs (each change is one transaction). Exports are provisioning documents
(streaming/provisioning.py) with each group's multicast ``ADDR:PORT``, so that speakers, which know their
groups by address, find their keys.

Rotation: a new key (MKI = highest + 1) becomes the senders' key at its ``not_before`` (``lead_s`` from
now, time for speakers to be re-provisioned); every older key gets ``not_after`` = that moment +
``overlap_s`` (late packets, clocks that differ), after which speakers refuse it and the store forgets it.
``lead_s = overlap_s = 0`` revokes the old keys at once (a key was stolen; speakers not yet re-provisioned
go silent rather than accept the thief).

Lifetimes (:class:`KeyLifetime`, config ``srtp_key_lifetime_s`` / ``srtp_key_ahead_s``): with one, every
key is the senders' key for ``lifetime_s`` and is accepted ``overlap_s`` longer (its ``not_after``); the
next key is made ``ahead_s`` before the switch, so every export and broker bundle from then on carries it
before it is needed, and an expired key leaves the exports and the store. This is the freshness a
spoofed clock cannot buy: a speaker's clock can be set back to make a recording look current and its
key look valid, but a speaker re-provisioned (or restarted with a fresh key file) does not hold a key
that left the exports, so a recording older than ``lifetime_s + overlap_s`` (:attr:`KeyLifetime.bound_s`)
authenticates nowhere. The policy runs whenever keys are read (streams, exports, GetGroupKeys, bundles),
at most every :attr:`KeyLifetime.check_s`.

Servers before the keys moved into the store kept them in ``group-keys.json`` in the state directory:
:func:`import_key_file` reads that file into the store once and deletes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.jobs.store import Store
from streaming.provisioning import dump_provisioning, load_provisioning
from streaming.srtp import MasterKey

KEYS_FILE = "group-keys.json"  # where servers before the keys moved into the store kept them
DEFAULT_LEAD_S = 60.0
DEFAULT_OVERLAP_S = 300.0
MAX_ROTATION_S = 7 * 24 * 3600.0  # lead and overlap of a rotation through the API: at most a week
# A day per key: an old recording is dead within a day, and a speaker that misses exports for up to
# AHEAD (a night's outage of the provisioning path) still has the next key before the switch.
DEFAULT_LIFETIME_S = 24 * 3600.0
DEFAULT_AHEAD_S = 6 * 3600.0


@dataclass(frozen=True)
class KeyLifetime:
    """How long each key is the senders' key, how early its successor is made, how long it overlaps."""

    lifetime_s: float = DEFAULT_LIFETIME_S
    ahead_s: float = DEFAULT_AHEAD_S
    overlap_s: float = DEFAULT_OVERLAP_S

    def __post_init__(self) -> None:
        if not self.lifetime_s > 0:
            raise ValueError(f"srtp_key_lifetime_s: {self.lifetime_s} must be positive")
        if not 0 < self.ahead_s < self.lifetime_s:
            raise ValueError(
                f"srtp_key_ahead_s: {self.ahead_s} must be positive and below the lifetime {self.lifetime_s}"
            )
        if self.overlap_s < 0:
            raise ValueError(f"overlap_s: {self.overlap_s} must not be negative")

    @classmethod
    def from_config(cls, config: Any) -> KeyLifetime:
        return cls(config.srtp_key_lifetime_s, config.srtp_key_ahead_s)

    @property
    def bound_s(self) -> float:
        """The oldest a captured packet can be and still authenticate on a freshly provisioned speaker:
        sent at its key's first instant, the key is exported until lifetime + overlap later."""
        return self.lifetime_s + self.overlap_s

    @property
    def check_s(self) -> float:
        """How often the policy runs: a tenth of the lead, at most a minute."""
        return min(60.0, self.ahead_s / 10)

    def ring(self, old: list[MasterKey], now: float) -> list[MasterKey]:
        """``old`` kept to the policy at ``now`` (pure): expired keys dropped, every key given an end, and
        the next key added once the newest key's switch is ``ahead_s`` away. Never empty: a group whose
        keys all expired (the server was off longer than a lifetime) gets a key usable now."""
        ring = []
        for k in old:
            if k.not_after is None:  # made before lifetimes, or by `loa keys rotate`
                end = max(k.not_before + self.lifetime_s, now + self.ahead_s) + self.overlap_s
                k = dataclasses.replace(k, not_after=end)
            if k.not_after is not None and k.not_after > now:
                ring.append(k)
        mki = max((k.mki for k in old), default=0) + 1
        if not ring:
            return [MasterKey.generate(mki, now, now + self.bound_s)]
        newest = max(ring, key=lambda k: (k.not_before, k.mki))
        switch = (newest.not_after or now) - self.overlap_s
        if now >= switch - self.ahead_s:
            start = max(switch, now)
            ring.append(MasterKey.generate(mki, start, start + self.bound_s))
        return ring


class AddressedGroup(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def multicast_address(self) -> str: ...

    @property
    def port(self) -> int: ...


def import_key_file(store: Store, state_dir: str | Path) -> list[str]:
    """Moves the key rings of an old ``group-keys.json`` into the store (for groups that exist and have
    no keys there yet) and deletes the file; returns the group ids imported. No file: nothing to do."""
    path = Path(state_dir) / KEYS_FILE
    if not path.exists():
        return []
    try:
        rings = load_provisioning(path)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    imported = store.import_group_keys(rings)
    with contextlib.suppress(FileNotFoundError):  # another process imported it at the same time
        path.unlink()
    return imported


class KeyStore:
    """The rotation policy over the store's key rows; thread-safe as the store is."""

    def __init__(
        self, store: Store, clock: Callable[[], float] = time.time, lifetime: KeyLifetime | None = None
    ) -> None:
        """``lifetime``: rotate automatically (see the module docstring); None: only on request."""
        self.store = store
        self._clock = clock
        self.lifetime = lifetime
        self._next_check = float("-inf")
        self._checking = threading.Lock()

    # --- reading ---------------------------------------------------------------------------------

    def keys(self, group_id: str) -> list[MasterKey]:
        """The group's keys that are not expired, oldest first; [] if it has none (plain RTP)."""
        self._maybe_maintain()
        now = self._clock()
        return [k for k in self.store.group_keys(group_id) if k.not_after is None or k.not_after > now]

    def groups(self) -> list[str]:
        return self.store.keyed_groups()

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

    def maintain(self) -> list[tuple[str, MasterKey]]:
        """Applies the lifetime policy to every keyed group now (each group one transaction); returns the
        keys it made. Nothing without a lifetime."""
        if self.lifetime is None:
            return []
        policy, made = self.lifetime, []
        for group_id in self.store.keyed_groups():
            before = {k.mki for k in self.store.group_keys(group_id)}
            ring = self.store.change_group_keys(group_id, lambda old: policy.ring(old, self._clock()))
            made += [(group_id, k) for k in ring if k.mki not in before]
        return made

    def _maybe_maintain(self) -> None:
        if self.lifetime is None or self._clock() < self._next_check:
            return
        if not self._checking.acquire(blocking=False):
            return  # another thread is at it
        try:
            self._next_check = self._clock() + self.lifetime.check_s
            self.maintain()
        finally:
            self._checking.release()

    def rotate(
        self, group_id: str, lead_s: float = DEFAULT_LEAD_S, overlap_s: float = DEFAULT_OVERLAP_S
    ) -> MasterKey:
        """Adds a new key that senders use from now + lead_s; older keys expire overlap_s after that.
        A group without keys gets its first one (usable after lead_s). NotFound for an unknown group."""
        if lead_s < 0 or overlap_s < 0:
            raise ValueError("lead_s and overlap_s: must not be negative")
        now = self._clock()
        switch = now + lead_s
        ends = switch + overlap_s

        def rotated(old: list[MasterKey]) -> list[MasterKey]:
            kept = []
            for k in old:
                if k.not_before >= switch:
                    continue  # a successor made ahead by the lifetime policy: this one replaces it
                not_after = ends if k.not_after is None else min(k.not_after, ends)
                if not_after > now:
                    kept.append(
                        MasterKey(k.mki, k.key, k.salt, k.not_before, max(not_after, k.not_before + 1e-3))
                    )
            return [*kept, MasterKey.generate(max((k.mki for k in old), default=0) + 1, not_before=switch)]

        return self.store.change_group_keys(group_id, rotated)[-1]

    def remove(self, group_id: str) -> bool:
        """Forgets the group's keys: its streams go back to plain RTP. False if it had none."""
        if not self.store.group_keys(group_id):
            return False
        self.store.change_group_keys(group_id, lambda old: [])
        return True
