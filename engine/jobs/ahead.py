"""Server side of bulletins delivered ahead: prepare, keep, publish and clear them (docs/BROKER.md).

A bulletin whose start is more than ``lead_s`` (default 300 s) away and that is not an EMERGENCY is
synthesized and encoded once, ahead; its Opus frames and the stream's fixed SSRC, first sequence number,
first RTP time and start are stored in SQLite (a restart keeps them), and for each of its groups the
exact datagrams of the live stream are rendered (streaming/ahead.py) and published retained, QoS 1, on
``{root}/g/{group}/ahead/{bulletin}``. At air time the airing opens its stream with those values
(:meth:`Prepared.open_kwargs`) and feeds those frames instead of synthesizing again, so the multicast,
broker and cache copies are the same bytes. Cancel, the end of the airing and a preemption clear the
item (an empty retained payload), and the stored frames are deleted: the resumed part of a preempted
bulletin and its repeats go live under fresh SSRCs, never under this one (a second, different stream
under the same SSRC would reuse SRTP nonces; streaming/ahead.py).

Emergencies and anything sooner than ``lead_s`` are always live.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.db import open_db
from engine.jobs.model import Group
from engine.jobs.progress import Mark
from engine.jobs.serialize import progress_from_dict, progress_to_dict
from streaming.ahead import Plan, render
from streaming.broker.ahead import AheadItem
from streaming.broker.publisher import Publishes
from streaming.broker.topics import Topics
from streaming.opus import OpusSettings, encode_pcm
from streaming.packetizer import Destination
from streaming.priority import Priority
from streaming.srtp import MasterKey

LEAD_S = 300.0  # a bulletin starting further ahead than this is delivered ahead
EXPIRY_S = 600.0  # a cluster keeps an item this long after its last datagram, then drops it as missed

KeySource = Callable[[str], Callable[[], Sequence[MasterKey]] | None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ahead_items (
    broadcast_id TEXT PRIMARY KEY,
    ssrc INTEGER NOT NULL, seq0 INTEGER NOT NULL, ts0 INTEGER NOT NULL,
    start_time REAL NOT NULL, air_at REAL NOT NULL, priority INTEGER NOT NULL,
    groups TEXT NOT NULL, codec TEXT NOT NULL, frames BLOB NOT NULL,
    marks TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS ahead_clears (
    broadcast_id TEXT NOT NULL, group_id TEXT NOT NULL, PRIMARY KEY (broadcast_id, group_id)
);
"""
_COLUMNS = "broadcast_id, ssrc, seq0, ts0, start_time, air_at, priority, groups, codec, frames, marks"


def eligible(priority: Priority, start_time: float | None, now: float, lead_s: float = LEAD_S) -> bool:
    """Whether a bulletin goes ahead: scheduled more than ``lead_s`` away, and not an emergency."""
    return start_time is not None and start_time - now > lead_s and Priority(priority) != Priority.EMERGENCY


@dataclass(frozen=True)
class Prepared:
    broadcast_id: str
    plan: Plan
    air_at: float  # wall time its first sample plays (plan.start_time + the groups' playout delay)
    priority: Priority
    group_ids: tuple[str, ...]
    codec: OpusSettings
    frames: tuple[bytes, ...]
    marks: tuple[Mark, ...] = ()  # where each piece starts in the frames: the airing's progress

    @property
    def label(self) -> str:
        """The stream's label (packetizer.py): this is always the bulletin's first airing."""
        return f"{self.broadcast_id}/0"

    def open_kwargs(self) -> dict[str, Any]:
        """What ``PacedSender.open_stream`` takes, besides destinations, to send exactly this."""
        p = self.plan
        return {"start_time": p.start_time, "ssrc": p.ssrc, "seq0": p.seq0, "ts0": p.ts0}


class PreparedAirings(Protocol):
    """What an airing (airing.py) asks of bulletins delivered ahead (ahead_planner.py)."""

    def take(self, broadcast_id: str, group_ids: tuple[str, ...], start_time: float) -> Prepared | None:
        """The prepared first airing, if it is there and still fits (same groups, same stream start,
        not yet past); from now on it is never prepared or republished again."""
        ...

    def release(self, broadcast_id: str) -> None:
        """The airing of the prepared stream ended, however it ended: clear it everywhere."""
        ...


def _pack_frames(frames: Sequence[bytes]) -> bytes:
    return b"".join(struct.pack("!H", len(f)) + f for f in frames)


def _unpack_frames(blob: bytes) -> tuple[bytes, ...]:
    out, i = [], 0
    while i < len(blob):
        (n,) = struct.unpack_from("!H", blob, i)
        out.append(blob[i + 2 : i + 2 + n])
        i += 2 + n
    return tuple(out)


class AheadStore:
    """The prepared bulletins, in SQLite (a file of their own: frames are bulky, and losing them costs a
    synthesis, never a broadcast)."""

    def __init__(self, path: str | Path) -> None:
        self._db = open_db(path, synchronous="NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(ahead_items)")}
        if "marks" not in columns:  # made by the first version, before marks were kept
            self._db.execute("ALTER TABLE ahead_items ADD COLUMN marks TEXT NOT NULL DEFAULT '[]'")
        self._lock = threading.Lock()

    def put(self, p: Prepared) -> None:
        codec = json.dumps(
            {"bitrate": p.codec.bitrate, "fec": p.codec.fec, "loss": p.codec.expected_loss_percent}
        )
        marks = json.dumps([[m.sample, progress_to_dict(m.progress)] for m in p.marks])
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO ahead_items ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (p.broadcast_id, p.plan.ssrc, p.plan.seq0, p.plan.ts0, p.plan.start_time, p.air_at,
                 int(p.priority), json.dumps(list(p.group_ids)), codec, _pack_frames(p.frames), marks),
            )  # fmt: skip

    def get(self, broadcast_id: str) -> Prepared | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM ahead_items WHERE broadcast_id = ?", (broadcast_id,)
            ).fetchone()
        return None if row is None else _prepared(row)

    def all(self) -> list[Prepared]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM ahead_items ORDER BY air_at").fetchall()
        return [_prepared(r) for r in rows]

    def delete(self, broadcast_id: str, clear_groups: Sequence[str] = ()) -> None:
        """Forgets the frames; ``clear_groups``: clears owed to those groups' topics, kept until
        :meth:`cleared` (the broker may be unreachable now, and a stale retained item would play)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # both or neither (the connection is in autocommit mode)
            try:
                self._db.execute("DELETE FROM ahead_items WHERE broadcast_id = ?", (broadcast_id,))
                self._db.executemany(
                    "INSERT OR IGNORE INTO ahead_clears VALUES (?, ?)",
                    [(broadcast_id, g) for g in clear_groups],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def clears(self) -> list[tuple[str, str]]:
        """(broadcast id, group id) of every clear not yet handed to the broker."""
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute("SELECT * FROM ahead_clears")]

    def cleared(self, broadcast_id: str, group_id: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM ahead_clears WHERE broadcast_id = ? AND group_id = ?", (broadcast_id, group_id)
            )

    def close(self) -> None:
        self._db.close()


def _prepared(row: sqlite3.Row | tuple[Any, ...]) -> Prepared:
    bid, ssrc, seq0, ts0, start, air_at, priority, groups, codec, frames, marks = row
    c = json.loads(codec)
    return Prepared(
        bid,
        Plan(ssrc, seq0, ts0, start),
        air_at,
        Priority(priority),
        tuple(json.loads(groups)),
        OpusSettings(bitrate=c["bitrate"], fec=c["fec"], expected_loss_percent=c["loss"]),
        _unpack_frames(frames),
        tuple(Mark(int(sample), progress_from_dict(p)) for sample, p in json.loads(marks)),
    )


def destination(group: Group, key_source: KeySource) -> Destination:
    """The group's stream destination, as the airing makes it (engine/jobs/airing.py)."""
    return Destination(
        group.multicast_address, group.port, group.ttl, group.interface or None, key_source(group.id)
    )


class AheadDelivery:
    """Prepares, publishes and clears bulletins delivered ahead through ``broker`` (the server's broker
    connection: anything with ``publish(topic, payload, qos, retain)``)."""

    def __init__(
        self,
        store: AheadStore,
        broker: Publishes,
        topics: Topics,
        key_source: KeySource,
        *,
        cname: str = "loa-server",
        sr_interval: float = 0.5,
        spread: float = 0.01,
    ) -> None:
        self.store = store
        self.broker = broker
        self.topics = topics
        self.key_source = key_source
        self.cname = cname
        self.sr_interval = sr_interval
        self.spread = spread

    def prepare(
        self,
        broadcast_id: str,
        priority: Priority,
        groups: Sequence[Group],
        air_at: float,
        pcm: np.ndarray,
        marks: Sequence[Mark] = (),
    ) -> Prepared:
        """Encodes the bulletin's audio (48 kHz mono, as the airing would feed it), stores it with a fresh
        SSRC and sequence and the airing's progress ``marks``, and publishes each group's item."""
        prepared = self.encode(broadcast_id, priority, groups, air_at, pcm, marks)
        self.store.put(prepared)
        self.publish(prepared, groups)
        return prepared

    def encode(
        self,
        broadcast_id: str,
        priority: Priority,
        groups: Sequence[Group],
        air_at: float,
        pcm: np.ndarray,
        marks: Sequence[Mark] = (),
    ) -> Prepared:
        """The prepared bulletin, neither stored nor published. The groups' codec is the first group's,
        as for a live airing (one stream for all its groups); the stream starts one playout delay (the
        groups' largest, as the airing's) before ``air_at``."""
        if Priority(priority) == Priority.EMERGENCY:
            raise ValueError("priority: an emergency is always live")
        first = groups[0]
        codec = OpusSettings(
            bitrate=first.opus_bitrate_bps, fec=first.fec, expected_loss_percent=first.expected_loss_percent
        )
        start = air_at - max(g.playout_delay_s for g in groups)
        plan = Plan(secrets.randbits(32), secrets.randbits(16), secrets.randbits(32), start)
        frames = tuple(encode_pcm(pcm, codec))
        return Prepared(
            broadcast_id, plan, air_at, Priority(priority), tuple(g.id for g in groups), codec, frames,
            tuple(marks),
        )  # fmt: skip

    def publish(self, prepared: Prepared, groups: Sequence[Group]) -> int:
        """Renders and publishes each group's item (also after a restart, or a key change); how many the
        broker client took."""
        return self.send(self.items(prepared, groups))

    def items(self, prepared: Prepared, groups: Sequence[Group]) -> list[tuple[str, bytes]]:
        """(topic, retained payload) of each group's item: the datagrams the airing will send it."""
        out = []
        for g in groups:
            timed = render(
                prepared.frames, prepared.plan, destination(g, self.key_source), priority=prepared.priority,
                cname=self.cname, codec=prepared.codec, sr_interval=self.sr_interval, spread=self.spread,
                label=prepared.label,
            )  # fmt: skip
            item = AheadItem(
                prepared.broadcast_id, 0, g.id, prepared.air_at, timed[-1].at + EXPIRY_S,
                int(prepared.priority), tuple(timed),
            )  # fmt: skip
            out.append((self.topics.ahead(g.id, prepared.broadcast_id), item.serialize()))
        return out

    def send(self, items: Sequence[tuple[str, bytes]]) -> int:
        """Publishes rendered items retained, QoS 1; how many the broker client took."""
        return sum(self.broker.publish(topic, payload, 1, True) for topic, payload in items)

    def clear(self, broadcast_id: str, group_ids: Sequence[str] | None = None) -> None:
        """Cancelled, aired or preempted: the frames are forgotten, so that the SSRC is never used again,
        and every cluster drops its copy (empty retained). A clear the broker could not take now is
        kept in the store and sent again by :meth:`send_clears`."""
        prepared = self.store.get(broadcast_id)
        ids = group_ids if group_ids is not None else (prepared.group_ids if prepared else ())
        self.store.delete(broadcast_id, ids)
        self.send_clears()

    def send_clears(self) -> int:
        """Publishes the clears still owed (after a broker outage or a restart); how many remain."""
        left = 0
        for broadcast_id, group_id in self.store.clears():
            if self.broker.publish(self.topics.ahead(group_id, broadcast_id), b"", 1, True):
                self.store.cleared(broadcast_id, group_id)
            else:
                left += 1
        return left
