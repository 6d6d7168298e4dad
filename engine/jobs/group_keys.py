"""The groups' SRTP master keys as rows of the store (table ``group_keys``), read and written inside the
store's transactions: a group and its first key are one transaction, and deleting a group deletes its
keys (ON DELETE CASCADE). The rotation policy is engine/api/keys.py's; this module only moves rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from streaming.srtp import MasterKey


def read_ring(conn: sqlite3.Connection, group_id: str) -> list[MasterKey]:
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


def write_ring(conn: sqlite3.Connection, group_id: str, ring: Sequence[MasterKey]) -> None:
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


def keyed_groups(conn: sqlite3.Connection) -> list[str]:
    """Ids of the groups that have keys, sorted."""
    return [r[0] for r in conn.execute("SELECT DISTINCT group_id FROM group_keys ORDER BY group_id")]
