"""The groups and their SRTP master keys, half of the Store (engine/jobs/store.py).

A group and its first key are written in one transaction (``create_group(srtp=True)``): a group meant
for SRTP is never stored without its key, which would send its broadcasts in clear. Deleting a group
deletes its keys (ON DELETE CASCADE). The rotation policy is engine/api/keys.py's; here rows only move.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.jobs.broadcast_rows import TERMINAL_SQL
from engine.jobs.errors import AlreadyExists, InUse, NotFound
from engine.jobs.model import GROUP_FIELDS, Group
from engine.jobs.store_base import StoreBase
from engine.jobs.validation import InvalidField
from streaming.srtp import MasterKey


class GroupStore(StoreBase):
    def create_group(self, group: Group, *, srtp: bool = False) -> Group:
        """Stores a validated group; create and update times are set here. With ``srtp`` the group's
        first master key (MKI 1, usable now) is written in the same transaction: a group meant for SRTP
        is never stored without its key, which would send its broadcasts in clear."""
        now = self._clock()
        group = dataclasses.replace(group, create_time=now, update_time=now)
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM groups WHERE id = ?", (group.id,)).fetchone():
                raise AlreadyExists(f"group {group.id!r} already exists")
            self._check_group_unique(conn, group)
            names = ("id", *GROUP_FIELDS, "create_time", "update_time")
            conn.execute(
                f"INSERT INTO groups ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [getattr(group, n) for n in names],
            )
            if srtp:
                _write_ring(conn, group.id, [MasterKey.generate(1, not_before=now)])
        return group

    def get_group(self, group_id: str) -> Group:
        with self._guard():
            row = self._conn.execute("SELECT * FROM groups WHERE id = ?", (group_id,)).fetchone()
            if row is None:
                raise NotFound(f"no group {group_id!r}")
            return self._group_from_row(row)

    def list_groups(self) -> list[Group]:
        with self._guard():
            rows = self._conn.execute("SELECT * FROM groups ORDER BY id").fetchall()
            return [self._group_from_row(r) for r in rows]

    def emergency_group(self) -> Group | None:
        with self._guard():
            row = self._conn.execute("SELECT * FROM groups WHERE emergency = 1").fetchone()
            return self._group_from_row(row) if row else None

    def update_group(self, group: Group, fields: Collection[str] = ()) -> Group:
        """Replaces the named fields (all when empty) of group ``group.id``; validate the result first."""
        unknown = set(fields) - set(GROUP_FIELDS)
        if unknown:
            raise InvalidField("update_mask", f"unknown or read-only fields {sorted(unknown)}")
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM groups WHERE id = ?", (group.id,)).fetchone()
            if row is None:
                raise NotFound(f"no group {group.id!r}")
            old = self._group_from_row(row)
            changes = {f: getattr(group, f) for f in (fields or GROUP_FIELDS)}
            new = dataclasses.replace(old, **changes, update_time=self._clock())
            self._check_group_unique(conn, new)
            names = (*GROUP_FIELDS, "update_time")
            conn.execute(
                f"UPDATE groups SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
                [*(getattr(new, n) for n in names), new.id],
            )
        return new

    def delete_group(self, group_id: str) -> None:
        with self._tx() as conn:
            if not conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone():
                raise NotFound(f"no group {group_id!r}")
            busy = conn.execute(
                "SELECT b.id FROM broadcast_groups g JOIN broadcasts b ON b.seq = g.broadcast_seq"
                f" WHERE g.group_id = ? AND b.state NOT IN ({TERMINAL_SQL}) LIMIT 1",
                (group_id,),
            ).fetchone()
            if busy:
                raise InUse(f"group {group_id!r} is targeted by unfinished broadcast {busy[0]}")
            conn.execute("DELETE FROM groups WHERE id = ?", (group_id,))

    # -- group keys -----------------------------------------------------------------------------------

    def group_keys(self, group_id: str) -> list[MasterKey]:
        """The group's stored SRTP master keys, expired ones included, lowest MKI first."""
        with self._guard():
            return _read_ring(self._conn, group_id)

    def keyed_groups(self) -> list[str]:
        with self._guard():
            return _keyed_group_ids(self._conn)

    def change_group_keys(
        self, group_id: str, change: Callable[[list[MasterKey]], list[MasterKey]]
    ) -> list[MasterKey]:
        """Replaces the group's keys with ``change(old keys)`` in one transaction (so two processes
        rotating at once both land) and returns them; NotFound for an unknown group."""
        with self._tx() as conn:
            if not conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone():
                raise NotFound(f"no group {group_id!r}")
            _write_ring(conn, group_id, change(_read_ring(conn, group_id)))
            return _read_ring(conn, group_id)  # times as stored (microseconds)

    def import_group_keys(self, rings: dict[str, list[MasterKey]]) -> list[str]:
        """Stores each ring for its group when the group exists and has no keys yet (one transaction);
        returns the ids stored. For key files written before keys lived in the store."""
        stored = []
        with self._tx() as conn:
            for group_id, ring in rings.items():
                exists = conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone()
                if exists and ring and not _read_ring(conn, group_id):
                    _write_ring(conn, group_id, ring)
                    stored.append(group_id)
        return stored

    @staticmethod
    def _check_group_unique(conn: sqlite3.Connection, group: Group) -> None:
        row = conn.execute(
            "SELECT id FROM groups WHERE multicast_address = ? AND port = ? AND id != ?",
            (group.multicast_address, group.port, group.id),
        ).fetchone()
        if row:
            raise InvalidField(
                "group.multicast_address",
                f"{group.multicast_address} port {group.port} is already used by group {row[0]!r}",
            )
        if group.emergency:
            sql = "SELECT id FROM groups WHERE emergency = 1 AND id != ?"
            row = conn.execute(sql, (group.id,)).fetchone()
            if row:
                raise InvalidField("group.emergency", f"group {row[0]!r} is already the emergency group")

    @staticmethod
    def _group_from_row(row: tuple[Any, ...]) -> Group:
        (gid, name, address, port, ttl, iface, bitrate, fec, loss, delay, emergency, created, updated) = row
        return Group(
            id=gid,
            name=name,
            multicast_address=address,
            port=port,
            ttl=ttl,
            interface=iface,
            opus_bitrate_bps=bitrate,
            fec=bool(fec),
            expected_loss_percent=loss,
            playout_delay_s=delay,
            emergency=bool(emergency),
            create_time=created,
            update_time=updated,
        )


def _read_ring(conn: sqlite3.Connection, group_id: str) -> list[MasterKey]:
    """Every stored key of the group, expired or not, oldest (lowest MKI) first; [] for plain RTP."""
    rows = conn.execute(
        "SELECT mki, master_key, master_salt, not_before, not_after FROM group_keys"
        " WHERE group_id = ? ORDER BY mki",
        (group_id,),
    ).fetchall()
    return [
        MasterKey(mki, bytes(key), bytes(salt), not_before, not_after)
        for mki, key, salt, not_before, not_after in rows
    ]


def _microseconds(t: float | None) -> float | None:
    """The time as a provisioning file writes it (RFC 3339, microseconds), so that the keys the sender
    uses and the keys exported to speakers compare equal."""
    return None if t is None else datetime.fromtimestamp(t, UTC).timestamp()


def _write_ring(conn: sqlite3.Connection, group_id: str, ring: Sequence[MasterKey]) -> None:
    """Replaces the group's keys with ``ring`` (empty: the group goes back to plain RTP)."""
    conn.execute("DELETE FROM group_keys WHERE group_id = ?", (group_id,))
    conn.executemany(
        "INSERT INTO group_keys (group_id, mki, master_key, master_salt, not_before, not_after)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (group_id, k.mki, k.key, k.salt, _microseconds(k.not_before), _microseconds(k.not_after))
            for k in ring
        ],
    )


def _keyed_group_ids(conn: sqlite3.Connection) -> list[str]:
    """Ids of the groups that have keys, sorted."""
    return [r[0] for r in conn.execute("SELECT DISTINCT group_id FROM group_keys ORDER BY group_id")]
