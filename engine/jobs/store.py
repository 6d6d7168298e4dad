"""The durable store of groups and broadcasts: SQLite in WAL mode with synchronous=FULL.

Every write is one transaction that is on disk (fsynced) before the call returns, so a broadcast whose
CreateBroadcast got a reply survives a crash or a power cut. Every change to a broadcast appends an event
in the same transaction: the event history is what WatchBroadcast streams and what the broadcast log
(nhật ký phát) exports.

One connection serves all threads behind a lock: the gRPC server calls in from many threads, and SQLite
serializes writers anyway. SQLite errors (disk full, read-only directory, a damaged file) come out as
:class:`StoreError` with the path and the cause; a failed transaction is rolled back whole.

On open, broadcasts a crash left synthesizing, on air or preempted get an Interruption (reason "server
restart", at their last progress) and go back to QUEUED, so the scheduler resumes them from the sentence
they were cut in. Only one owner may do that: the owner holds an exclusive lock on ``PATH.lock`` until
it closes, and a second owner gets a StoreError instead of re-queuing a live server's broadcasts. A
reader (``loa broadcast log`` next to a running server) opens with ``recover=False`` and takes no lock.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import fcntl
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine import errors
from engine.db import open_db
from engine.errors import Unavailable
from engine.jobs import group_keys, schema, serialize
from engine.jobs.model import (
    AIRING_STATES,
    GROUP_FIELDS,
    TERMINAL_STATES,
    Broadcast,
    BroadcastSpec,
    BroadcastState,
    Event,
    EventType,
    Group,
    Interruption,
    Progress,
    ResumeMode,
)
from engine.jobs.validation import InvalidField
from streaming.srtp import MasterKey

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
RESTART_REASON = "server restart"

_UNSET: Any = object()


class StoreError(Unavailable):
    """The store could not do what was asked; nothing was changed."""


class NotFound(StoreError, errors.NotFound):
    pass


class AlreadyExists(StoreError, errors.AlreadyExists):
    pass


class IdempotencyConflict(StoreError, errors.Conflict):
    """The idempotency key was used before, for a different request."""


class InvalidTransition(StoreError, errors.Conflict):
    """The broadcast's state forbids the change, e.g. cancelling a finished broadcast."""


class InUse(StoreError, errors.Conflict):
    """A group that unfinished broadcasts still target cannot be deleted."""


class InvalidPageToken(StoreError, ValueError):
    pass


class Store:
    """Thread-safe; ``clock`` returns epoch seconds (tests pass a fake one)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        recover: bool = True,
        max_size_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.recovered: tuple[str, ...] = ()
        self._lock_fd: int | None = self._take_owner_lock() if recover else None
        try:
            self._conn = open_db(self.path)
        except (sqlite3.Error, OSError) as exc:
            self._release_owner_lock()
            raise StoreError(f"state store {self.path}: cannot open: {exc}") from exc
        try:
            with self._guard():
                if max_size_bytes is not None:
                    page = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
                    self._conn.execute(f"PRAGMA max_page_count = {max(1, max_size_bytes // page)}")
                try:
                    schema.migrate(self._conn)
                except schema.SchemaTooNew as exc:
                    raise StoreError(f"state store {self.path}: {exc}") from exc
                if recover:
                    self.recovered = self._recover()
        except BaseException:
            self._conn.close()
            self._release_owner_lock()
            raise

    # -- plumbing -------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._release_owner_lock()

    def _take_owner_lock(self) -> int:
        lock_path = f"{self.path}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"state store {self.path}: cannot open: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(
                f"state store {self.path}: in use by another server (lock {lock_path})"
            ) from None
        return fd

    def _release_owner_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Holds the lock and turns SQLite's errors into StoreError."""
        with self._lock:
            try:
                yield
            except StoreError:
                raise
            except sqlite3.Error as exc:
                raise StoreError(f"state store {self.path}: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and fsynced) or rolled back whole; wakes event watchers."""
        with self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._changed.notify_all()

    # -- groups ---------------------------------------------------------------------------------------

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
                group_keys.write_ring(conn, group.id, [MasterKey.generate(1, not_before=now)])
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
                f" WHERE g.group_id = ? AND b.state NOT IN ({_TERMINAL_SQL}) LIMIT 1",
                (group_id,),
            ).fetchone()
            if busy:
                raise InUse(f"group {group_id!r} is targeted by unfinished broadcast {busy[0]}")
            conn.execute("DELETE FROM groups WHERE id = ?", (group_id,))

    # -- group keys -----------------------------------------------------------------------------------

    def group_keys(self, group_id: str) -> list[MasterKey]:
        """The group's stored SRTP master keys, expired ones included, lowest MKI first."""
        with self._guard():
            return group_keys.read_ring(self._conn, group_id)

    def keyed_groups(self) -> list[str]:
        with self._guard():
            return group_keys.keyed_groups(self._conn)

    def change_group_keys(
        self, group_id: str, change: Callable[[list[MasterKey]], list[MasterKey]]
    ) -> list[MasterKey]:
        """Replaces the group's keys with ``change(old keys)`` in one transaction (so two processes
        rotating at once both land) and returns them; NotFound for an unknown group."""
        with self._tx() as conn:
            if not conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone():
                raise NotFound(f"no group {group_id!r}")
            group_keys.write_ring(conn, group_id, change(group_keys.read_ring(conn, group_id)))
            return group_keys.read_ring(conn, group_id)  # times as stored (microseconds)

    def import_group_keys(self, rings: dict[str, list[MasterKey]]) -> list[str]:
        """Stores each ring for its group when the group exists and has no keys yet (one transaction);
        returns the ids stored. For key files written before keys lived in the store."""
        stored = []
        with self._tx() as conn:
            for group_id, ring in rings.items():
                exists = conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone()
                if exists and ring and not group_keys.read_ring(conn, group_id):
                    group_keys.write_ring(conn, group_id, ring)
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

    # -- broadcasts -----------------------------------------------------------------------------------

    def create_broadcast(self, spec: BroadcastSpec) -> tuple[Broadcast, bool]:
        """Stores a validated request as QUEUED; returns (broadcast, created).

        A request whose idempotency key was seen before returns the first broadcast and created=False
        (whatever its state now); the same key with a different request raises IdempotencyConflict.
        """
        digest = serialize.spec_digest(spec)
        key = spec.idempotency_key or None
        with self._tx() as conn:
            if key is not None:
                row = conn.execute(
                    "SELECT id, request_digest FROM broadcasts WHERE idempotency_key = ?", (key,)
                ).fetchone()
                if row is not None:
                    if row[1] != digest:
                        raise IdempotencyConflict(
                            f"idempotency_key: {key!r} was used by broadcast {row[0]} for a different request"
                        )
                    return self._get(conn, row[0]), False
            now = self._clock()
            start = spec.start_time if spec.start_time is not None else now
            while True:
                bid = secrets.token_hex(8)
                if not conn.execute("SELECT 1 FROM broadcasts WHERE id = ?", (bid,)).fetchone():
                    break
            seq = conn.execute(
                "INSERT INTO broadcasts (id, idempotency_key, request_digest, spec, priority, state,"
                " create_time, start_time, update_time, progress, interruptions, failure_reason,"
                " repeats_done) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', '', 0)",
                (
                    bid,
                    key,
                    digest,
                    serialize.dumps(serialize.spec_to_dict(spec)),
                    int(spec.priority),
                    int(BroadcastState.QUEUED),
                    now,
                    start,
                    now,
                    _progress_json(Progress()),
                ),
            ).lastrowid
            conn.executemany(
                "INSERT INTO broadcast_groups (broadcast_seq, group_id) VALUES (?, ?)",
                [(seq, g) for g in spec.group_ids],
            )
            conn.executemany(
                "INSERT INTO segment_audio (broadcast_seq, segment_index, audio) VALUES (?, ?, ?)",
                [(seq, i, s.audio) for i, s in enumerate(spec.segments) if s.audio is not None],
            )
            message = "scheduled" if start > now else "queued"
            self._append_event(conn, bid, EventType.QUEUED, now, BroadcastState.QUEUED, Progress(), message)
            return self._get(conn, bid), True

    def get_broadcast(self, broadcast_id: str) -> Broadcast:
        with self._guard():
            return self._get(self._conn, broadcast_id)

    def list_broadcasts(
        self,
        *,
        states: Collection[BroadcastState] = (),
        group_id: str = "",
        created_after: float | None = None,
        created_before: float | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[Broadcast], str]:
        """Newest first; returns (page, next_page_token), the token empty on the last page.

        Pages follow creation order, so broadcasts created while a client pages never shift, repeat
        or hide what it has not seen yet. A token is only valid with the same filters.
        """
        size = page_size or DEFAULT_PAGE_SIZE
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidField("page_size", f"{page_size} not in 0..{MAX_PAGE_SIZE}")
        filters = serialize.dumps([sorted(int(s) for s in states), group_id, created_after, created_before])
        fingerprint = hashlib.sha256(filters.encode()).hexdigest()[:16]
        where: list[str] = []
        args: list[object] = []
        if page_token:
            where.append("b.seq < ?")
            args.append(_decode_token(page_token, fingerprint))
        if states:
            where.append(f"b.state IN ({', '.join('?' * len(states))})")
            args += [int(s) for s in states]
        if group_id:
            where.append("b.seq IN (SELECT broadcast_seq FROM broadcast_groups WHERE group_id = ?)")
            args.append(group_id)
        if created_after is not None:
            where.append("b.create_time >= ?")
            args.append(created_after)
        if created_before is not None:
            where.append("b.create_time < ?")
            args.append(created_before)
        sql = "SELECT b.id, b.seq FROM broadcasts b"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY b.seq DESC LIMIT ?"
        with self._guard():
            rows = self._conn.execute(sql, [*args, size + 1]).fetchall()
            page = [self._get(self._conn, r[0]) for r in rows[:size]]
        token = _encode_token(rows[size - 1][1], fingerprint) if len(rows) > size else ""
        return page, token

    def active_broadcasts(self, with_audio: bool = True) -> list[Broadcast]:
        """Every broadcast not yet finished, cancelled or failed, oldest first: the scheduler's input
        (which passes ``with_audio=False``: see :meth:`_select`)."""
        with self._guard():
            return self._select(
                self._conn, f"WHERE state NOT IN ({_TERMINAL_SQL}) ORDER BY seq", (), with_audio=with_audio
            )

    def broadcasts_between(self, since: float, until: float | None = None) -> list[Broadcast]:
        """Broadcasts whose life [create_time, end_time] overlaps [since, until), oldest first."""
        sql = "SELECT id FROM broadcasts WHERE (end_time IS NULL OR end_time >= ?)"
        args: list[float] = [since]
        if until is not None:
            sql += " AND create_time < ?"
            args.append(until)
        with self._guard():
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
            return [self._get(self._conn, r[0]) for r in rows]

    def update_broadcast(
        self,
        broadcast_id: str,
        event: EventType,
        *,
        state: BroadcastState | None = None,
        progress: Progress | None = None,
        message: str = "",
        air_time: float | None = None,
        end_time: float | None = None,
        failure_reason: str | None = None,
        repeats_done: int | None = None,
        interrupt: Interruption | None = None,
        resume_mode: ResumeMode | None = None,
        expect_states: Collection[BroadcastState] | None = None,
    ) -> Broadcast:
        """Changes a broadcast and appends ``event`` to its history, in one transaction.

        - A finished, cancelled or failed broadcast never changes (InvalidTransition), nor one whose
          state is not in ``expect_states`` when given: a runner finishing a broadcast that was just
          cancelled learns it here instead of overwriting the cancel.
        - ``interrupt`` is appended to the interruptions; ``resume_mode`` ends every open interruption
          (end time now) with that mode. Entering a terminal state ends open ones as NOT_RESUMED.
        - Entering ON_AIR the first time sets air_time (now unless given); entering a terminal state sets
          end_time (now unless given).
        """
        with self._tx() as conn:
            old = self._get(conn, broadcast_id)
            if old.state in TERMINAL_STATES:
                raise InvalidTransition(f"broadcast {broadcast_id} is already {old.state.name.lower()}")
            if expect_states is not None and old.state not in expect_states:
                raise InvalidTransition(f"broadcast {broadcast_id} is {old.state.name.lower()}")
            now = self._clock()
            new_state = state if state is not None else old.state
            cuts = list(old.interruptions)
            if interrupt is not None:
                cuts.append(interrupt)
            close_mode = resume_mode
            if close_mode is None and new_state in TERMINAL_STATES:
                close_mode = ResumeMode.NOT_RESUMED
            if close_mode is not None:
                cuts = [
                    dataclasses.replace(c, end_time=now, resume_mode=close_mode) if c.end_time is None else c
                    for c in cuts
                ]
            if air_time is None and new_state == BroadcastState.ON_AIR and old.air_time is None:
                air_time = now
            if end_time is None and new_state in TERMINAL_STATES:
                end_time = now
            new = dataclasses.replace(
                old,
                state=new_state,
                update_time=now,
                progress=progress if progress is not None else old.progress,
                air_time=air_time if air_time is not None else old.air_time,
                end_time=end_time if end_time is not None else old.end_time,
                failure_reason=failure_reason if failure_reason is not None else old.failure_reason,
                repeats_done=repeats_done if repeats_done is not None else old.repeats_done,
                interruptions=tuple(cuts),
            )
            conn.execute(
                "UPDATE broadcasts SET state = ?, update_time = ?, progress = ?, air_time = ?, end_time = ?,"
                " failure_reason = ?, repeats_done = ?, interruptions = ? WHERE id = ?",
                (
                    int(new.state),
                    now,
                    _progress_json(new.progress),
                    new.air_time,
                    new.end_time,
                    new.failure_reason,
                    new.repeats_done,
                    serialize.dumps([serialize.interruption_to_dict(c) for c in new.interruptions]),
                    broadcast_id,
                ),
            )
            self._append_event(conn, broadcast_id, event, now, new.state, new.progress, message)
            return new

    def cancel_broadcast(self, broadcast_id: str, reason: str = "") -> Broadcast:
        """Cancels a broadcast that has not ended; the runner stops airing it when it sees the state."""
        return self.update_broadcast(
            broadcast_id, EventType.CANCELLED, state=BroadcastState.CANCELLED, message=reason or "cancelled"
        )

    def preempt_broadcast(self, broadcast_id: str, by: Broadcast, reason: str = "") -> Broadcast:
        """Holds an airing broadcast back for ``by``; the interruption records where it was cut."""
        now = self._clock()
        with self._lock:
            at = self.get_broadcast(broadcast_id).progress
            why = reason or f"{by.priority.name.lower()} broadcast {by.id}"
            return self.update_broadcast(
                broadcast_id,
                EventType.PREEMPTED,
                state=BroadcastState.PREEMPTED,
                message=f"preempted by {why}",
                interrupt=Interruption(
                    start_time=now, reason=why, at=at, by_broadcast_id=by.id, by_priority=by.priority
                ),
                expect_states=AIRING_STATES,
            )

    # -- events ---------------------------------------------------------------------------------------

    def events(self, broadcast_id: str, after_seq: int = 0) -> list[Event]:
        """The broadcast's history after event ``after_seq`` (0: all), oldest first."""
        with self._guard():
            self._get(self._conn, broadcast_id)  # NotFound for an unknown id
            rows = self._conn.execute(
                "SELECT seq, broadcast_id, type, time, state, progress, message FROM events"
                " WHERE broadcast_id = ? AND seq > ? ORDER BY seq",
                (broadcast_id, after_seq),
            ).fetchall()
        return [
            Event(
                seq=seq,
                broadcast_id=bid,
                type=EventType(etype),
                time=t,
                state=BroadcastState(state),
                progress=serialize.progress_from_dict(json.loads(progress)),
                message=message,
            )
            for seq, bid, etype, t, state, progress, message in rows
        ]

    def wait_events(self, broadcast_id: str, after_seq: int, timeout: float) -> list[Event]:
        """Like :meth:`events`, but waits up to ``timeout`` seconds for one when there is none yet.

        Woken by writes of this process only (the embedded server is one process).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self.events(broadcast_id, after_seq)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                self._changed.wait(left)

    # -- internals ------------------------------------------------------------------------------------

    def _recover(self) -> tuple[str, ...]:
        """Re-queues what a crash cut; returns their ids."""
        states = ", ".join(str(int(s)) for s in (*AIRING_STATES, BroadcastState.PREEMPTED))
        with self._guard():
            ids = [r[0] for r in self._conn.execute(f"SELECT id FROM broadcasts WHERE state IN ({states})")]
        for bid in ids:
            at = self.get_broadcast(bid).progress
            self.update_broadcast(
                bid,
                EventType.QUEUED,
                state=BroadcastState.QUEUED,
                message=(
                    f"{RESTART_REASON}: queued again at airing {at.repeat_index + 1}, "
                    f"segment {at.segment_index + 1}, sentence {at.sentence_index + 1}"
                ),
                interrupt=Interruption(start_time=self._clock(), reason=RESTART_REASON, at=at),
            )
        return tuple(ids)

    def _append_event(
        self,
        conn: sqlite3.Connection,
        broadcast_id: str,
        event: EventType,
        now: float,
        state: BroadcastState,
        progress: Progress,
        message: str,
    ) -> None:
        conn.execute(
            "INSERT INTO events (broadcast_id, type, time, state, progress, message)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (broadcast_id, int(event), now, int(state), _progress_json(progress), message),
        )

    @staticmethod
    def _get(conn: sqlite3.Connection, broadcast_id: str) -> Broadcast:
        found = Store._select(conn, "WHERE id = ?", (broadcast_id,))
        if not found:
            raise NotFound(f"no broadcast {broadcast_id!r}")
        return found[0]

    @staticmethod
    def _select(
        conn: sqlite3.Connection, where: str, args: Sequence[object], with_audio: bool = True
    ) -> list[Broadcast]:
        """Broadcasts in one query (and their audio in one more). Without audio, a pre-recorded segment's
        ``audio`` is None: enough for scheduling, which must not pull megabytes per plan."""
        rows = conn.execute(
            "SELECT id, seq, spec, state, create_time, start_time, update_time, air_time, end_time, progress,"
            f" interruptions, failure_reason, repeats_done FROM broadcasts {where}",
            args,
        ).fetchall()
        audio: dict[int, dict[int, bytes]] = {}
        seqs = [row[1] for row in rows]
        for start in range(0, len(seqs) if with_audio else 0, 500):
            chunk = seqs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for seq, index, blob in conn.execute(
                "SELECT broadcast_seq, segment_index, audio FROM segment_audio"
                f" WHERE broadcast_seq IN ({marks})",
                chunk,
            ):
                audio.setdefault(seq, {})[index] = blob
        return [
            Broadcast(
                id=bid,
                spec=serialize.spec_from_dict(json.loads(spec), audio.get(seq, {})),
                state=BroadcastState(state),
                seq=seq,
                create_time=created,
                start_time=start_time,
                update_time=updated,
                air_time=aired,
                end_time=ended,
                progress=serialize.progress_from_dict(json.loads(progress)),
                interruptions=tuple(serialize.interruption_from_dict(c) for c in json.loads(cuts)),
                failure_reason=failure,
                repeats_done=repeats,
            )
            for (
                bid,
                seq,
                spec,
                state,
                created,
                start_time,
                updated,
                aired,
                ended,
                progress,
                cuts,
                failure,
                repeats,
            ) in rows
        ]


_TERMINAL_SQL = ", ".join(str(int(s)) for s in TERMINAL_STATES)


def _progress_json(progress: Progress) -> str:
    return serialize.dumps(serialize.progress_to_dict(progress))


def _encode_token(seq: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{seq}:{fingerprint}".encode()).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        seq, found = raw.split(":")
        value = int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidPageToken("page_token: not a token this server gave") from None
    if found != fingerprint:
        raise InvalidPageToken("page_token: given with different filters than the first page")
    return value
