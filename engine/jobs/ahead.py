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
from typing import Any

import numpy as np

from engine.db import open_db
from engine.jobs.model import Group
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
    groups TEXT NOT NULL, codec TEXT NOT NULL, frames BLOB NOT NULL
)
"""


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

    def open_kwargs(self) -> dict[str, Any]:
        """What ``PacedSender.open_stream`` takes, besides destinations, to send exactly this."""
        p = self.plan
        return {"start_time": p.start_time, "ssrc": p.ssrc, "seq0": p.seq0, "ts0": p.ts0}


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
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def put(self, p: Prepared) -> None:
        codec = json.dumps(
            {"bitrate": p.codec.bitrate, "fec": p.codec.fec, "loss": p.codec.expected_loss_percent}
        )
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO ahead_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (p.broadcast_id, p.plan.ssrc, p.plan.seq0, p.plan.ts0, p.plan.start_time, p.air_at,
                 int(p.priority), json.dumps(list(p.group_ids)), codec, _pack_frames(p.frames)),
            )  # fmt: skip

    def get(self, broadcast_id: str) -> Prepared | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM ahead_items WHERE broadcast_id = ?", (broadcast_id,)
            ).fetchone()
        return None if row is None else _prepared(row)

    def all(self) -> list[Prepared]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM ahead_items ORDER BY air_at").fetchall()
        return [_prepared(r) for r in rows]

    def delete(self, broadcast_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM ahead_items WHERE broadcast_id = ?", (broadcast_id,))

    def close(self) -> None:
        self._db.close()


def _prepared(row: sqlite3.Row | tuple[Any, ...]) -> Prepared:
    bid, ssrc, seq0, ts0, start, air_at, priority, groups, codec, frames = row
    c = json.loads(codec)
    return Prepared(
        bid,
        Plan(ssrc, seq0, ts0, start),
        air_at,
        Priority(priority),
        tuple(json.loads(groups)),
        OpusSettings(bitrate=c["bitrate"], fec=c["fec"], expected_loss_percent=c["loss"]),
        _unpack_frames(frames),
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
        self, broadcast_id: str, priority: Priority, groups: Sequence[Group], air_at: float, pcm: np.ndarray
    ) -> Prepared:
        """Encodes the bulletin's audio (48 kHz mono, as the airing would feed it), stores it with a fresh
        SSRC and sequence, and publishes each group's item. The groups' codec is the first group's, as
        for a live airing (one stream for all its groups)."""
        if Priority(priority) == Priority.EMERGENCY:
            raise ValueError("priority: an emergency is always live")
        first = groups[0]
        codec = OpusSettings(
            bitrate=first.opus_bitrate_bps, fec=first.fec, expected_loss_percent=first.expected_loss_percent
        )
        start = air_at - max(g.playout_delay_s for g in groups)
        plan = Plan(secrets.randbits(32), secrets.randbits(16), secrets.randbits(32), start)
        frames = tuple(encode_pcm(pcm, codec))
        prepared = Prepared(
            broadcast_id, plan, air_at, Priority(priority), tuple(g.id for g in groups), codec, frames
        )
        self.store.put(prepared)
        self.publish(prepared, groups)
        return prepared

    def publish(self, prepared: Prepared, groups: Sequence[Group]) -> int:
        """Renders and publishes each group's item (also after a restart, or a key change); how many the
        broker client took."""
        sent = 0
        for g in groups:
            timed = render(
                prepared.frames, prepared.plan, destination(g, self.key_source), priority=prepared.priority,
                cname=self.cname, codec=prepared.codec, sr_interval=self.sr_interval, spread=self.spread,
            )  # fmt: skip
            item = AheadItem(
                prepared.broadcast_id, 0, g.id, prepared.air_at, timed[-1].at + EXPIRY_S,
                int(prepared.priority), tuple(timed),
            )  # fmt: skip
            sent += self.broker.publish(
                self.topics.ahead(g.id, prepared.broadcast_id), item.serialize(), 1, True
            )
        return sent

    def clear(self, broadcast_id: str, group_ids: Sequence[str] | None = None) -> None:
        """Cancelled, aired or preempted: every cluster drops its copy (empty retained), and the frames
        are forgotten, so that the SSRC is never used again."""
        prepared = self.store.get(broadcast_id)
        ids = group_ids if group_ids is not None else (prepared.group_ids if prepared else ())
        for group_id in ids:
            self.broker.publish(self.topics.ahead(group_id, broadcast_id), b"", 1, True)
        self.store.delete(broadcast_id)
