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

Servers before the keys moved into the store kept them in ``group-keys.json`` in the state directory:
:func:`import_key_file` reads that file into the store once and deletes it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from engine.jobs.store import Store
from streaming.provisioning import dump_provisioning, load_provisioning
from streaming.srtp import MasterKey

KEYS_FILE = "group-keys.json"  # where servers before the keys moved into the store kept them
DEFAULT_LEAD_S = 60.0
DEFAULT_OVERLAP_S = 300.0


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

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    # --- reading ---------------------------------------------------------------------------------

    def keys(self, group_id: str) -> list[MasterKey]:
        """The group's keys that are not expired, oldest first; [] if it has none (plain RTP)."""
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
