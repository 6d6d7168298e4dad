"""The broadcasts and their event history, half of the Store (engine/jobs/store.py).

Every write is one transaction that is on disk (fsynced) before the call returns, so a broadcast whose
CreateBroadcast got a reply survives a crash or a power cut. Every change to a broadcast appends an event
in the same transaction: the event history is what WatchBroadcast streams and what the broadcast log
(nhật ký phát) exports. The row forms and queries are in broadcast_rows.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import Collection

from engine.jobs import broadcast_rows, events_log, serialize
from engine.jobs.errors import IdempotencyConflict, InvalidTransition
from engine.jobs.heard import Heard, HeardMarks
from engine.jobs.model import (
    AIRING_STATES,
    LOCAL_SCOPE,
    TERMINAL_STATES,
    Broadcast,
    BroadcastSpec,
    BroadcastState,
    Caller,
    Event,
    EventType,
    Interruption,
    Progress,
    ResumeMode,
)
from engine.jobs.store_base import StoreBase
from engine.jobs.validation import InvalidField

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
RESTART_REASON = "server restart"
_RESUMED = (ResumeMode.FROM_SENTENCE, ResumeMode.LIVE)  # the modes of a cut that a resume closed


class BroadcastStore(StoreBase):
    heard: HeardMarks | None = None  # how far speakers got in each airing (heard.py); the owner's only

    def create_broadcast(self, spec: BroadcastSpec, caller: Caller | None = None) -> tuple[Broadcast, bool]:
        """Stores a validated request as QUEUED, created by ``caller`` (the authenticated token; None:
        unknown, for callers inside the process); returns (broadcast, created).

        Idempotency keys are per caller: a request whose key this caller used before returns that first
        broadcast and created=False (whatever its state now); the same key with a different request
        raises IdempotencyConflict. Another caller's key is never looked at, so it neither dedupes
        against nor reveals another caller's broadcast.
        """
        digest = serialize.spec_digest(spec)
        scope = caller.scope if caller is not None else LOCAL_SCOPE
        key = broadcast_rows.idempotency_column(scope, spec.idempotency_key) if spec.idempotency_key else None
        with self._tx() as conn:
            if key is not None:
                row = conn.execute(
                    "SELECT id, request_digest FROM broadcasts WHERE idempotency_key = ?", (key,)
                ).fetchone()
                if row is not None:
                    if row[1] != digest:
                        raise IdempotencyConflict(
                            f"idempotency_key: {spec.idempotency_key!r} was used by broadcast {row[0]}"
                            " for a different request"
                        )
                    return broadcast_rows.get(conn, row[0]), False
            now = self._clock()
            start = spec.start_time if spec.start_time is not None else now
            while True:
                bid = secrets.token_hex(8)
                if not conn.execute("SELECT 1 FROM broadcasts WHERE id = ?", (bid,)).fetchone():
                    break
            seq = conn.execute(
                "INSERT INTO broadcasts (id, idempotency_key, request_digest, spec, priority, state,"
                " create_time, start_time, update_time, progress, interruptions, failure_reason,"
                " repeats_done, created_by_token, created_by_name, created_by_role)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', '', 0, ?, ?, ?)",
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
                    broadcast_rows.progress_json(Progress()),
                    caller.token_id if caller is not None else None,
                    caller.name if caller is not None else None,
                    caller.role if caller is not None else None,
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
            broadcast_rows.append_event(
                conn, bid, EventType.QUEUED, now, BroadcastState.QUEUED, Progress(), message
            )
            created = broadcast_rows.get(conn, bid)
        events_log.broadcast_event(created, EventType.QUEUED, message)  # after the commit: it happened
        return created, True

    def get_broadcast(self, broadcast_id: str) -> Broadcast:
        with self._guard():
            return broadcast_rows.get(self._conn, broadcast_id)

    def list_broadcasts(
        self,
        *,
        states: Collection[BroadcastState] = (),
        group_id: str = "",
        created_after: float | None = None,
        created_before: float | None = None,
        page_size: int = 0,
        page_token: str = "",
        within_groups: Collection[str] | None = None,
    ) -> tuple[list[Broadcast], str]:
        """Newest first; returns (page, next_page_token), the token empty on the last page.

        ``within_groups``: only broadcasts all of whose groups are among these (a caller's read scope;
        None: no such limit). Applied in the query, so pages stay full and tokens stay positions.

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
            args.append(broadcast_rows.decode_token(page_token, fingerprint))
        if states:
            where.append(f"b.state IN ({', '.join('?' * len(states))})")
            args += [int(s) for s in states]
        if group_id:
            where.append("b.seq IN (SELECT broadcast_seq FROM broadcast_groups WHERE group_id = ?)")
            args.append(group_id)
        if within_groups is not None:
            scope = sorted(set(within_groups))
            where.append(
                "NOT EXISTS (SELECT 1 FROM broadcast_groups g WHERE g.broadcast_seq = b.seq"
                f" AND g.group_id NOT IN ({', '.join('?' * len(scope))}))"
            )
            args += scope
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
            page = [broadcast_rows.get(self._conn, r[0]) for r in rows[:size]]
        token = broadcast_rows.encode_token(rows[size - 1][1], fingerprint) if len(rows) > size else ""
        return page, token

    def active_broadcasts(self, with_audio: bool = True) -> list[Broadcast]:
        """Every broadcast not yet finished, cancelled or failed, oldest first: the scheduler's input
        (which passes ``with_audio=False``: see :meth:`_select`)."""
        with self._guard():
            return broadcast_rows.select(
                self._conn,
                f"WHERE state NOT IN ({broadcast_rows.TERMINAL_SQL}) ORDER BY seq",
                (),
                with_audio=with_audio,
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
            return [broadcast_rows.get(self._conn, r[0]) for r in rows]

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
        resumed_at: float | None = None,
        expect_states: Collection[BroadcastState] | None = None,
    ) -> Broadcast:
        """Changes a broadcast and appends ``event`` to its history, in one transaction.

        - A finished, cancelled or failed broadcast never changes (InvalidTransition), nor one whose
          state is not in ``expect_states`` when given: a runner finishing a broadcast that was just
          cancelled learns it here instead of overwriting the cancel.
        - ``interrupt`` is appended to the interruptions; ``resume_mode`` ends every open interruption
          (end time now) with that mode. Entering a terminal state ends open ones as NOT_RESUMED.
        - ``resumed_at``: when the speakers heard the first sample of a resumed airing; it becomes the end
          of the last interruption (closed, with its resume mode, when the resume was launched).
        - air_time is the first sample ever played: set once, entering ON_AIR the first time (now unless
          given), never moved by a resume; entering a terminal state sets end_time (now unless given).
        """
        with self._tx() as conn:
            old = broadcast_rows.get(conn, broadcast_id)
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
            if resumed_at is not None and cuts and cuts[-1].resume_mode in _RESUMED:
                cuts[-1] = dataclasses.replace(cuts[-1], end_time=resumed_at)
            if old.air_time is not None:
                air_time = old.air_time  # a resume's first sample is not the broadcast's
            elif air_time is None and new_state == BroadcastState.ON_AIR:
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
                    broadcast_rows.progress_json(new.progress),
                    new.air_time,
                    new.end_time,
                    new.failure_reason,
                    new.repeats_done,
                    serialize.dumps([serialize.interruption_to_dict(c) for c in new.interruptions]),
                    broadcast_id,
                ),
            )
            broadcast_rows.append_event(conn, broadcast_id, event, now, new.state, new.progress, message)
        # logged once, here, after the commit: every transition of every broadcast passes this point
        events_log.broadcast_event(new, event, message, requeued=message.startswith(RESTART_REASON))
        return new

    def cancel_broadcast(self, broadcast_id: str, reason: str = "") -> Broadcast:
        """Cancels a broadcast that has not ended; the runner stops airing it when it sees the state."""
        return self.update_broadcast(
            broadcast_id, EventType.CANCELLED, state=BroadcastState.CANCELLED, message=reason or "cancelled"
        )

    def end_cancelled_when_heard(self, broadcast_id: str, until: float) -> None:
        """A broadcast cancelled on air ends when its speakers went silent, ``until``: they play what was
        sent before its stream stopped, up to one playout delay after the cancel. Only moves a cancelled
        broadcast's end_time later (the one change made to an ended broadcast)."""
        with self._tx() as conn:
            old = broadcast_rows.get(conn, broadcast_id)
            if old.state == BroadcastState.CANCELLED and old.end_time is not None and until > old.end_time:
                conn.execute("UPDATE broadcasts SET end_time = ? WHERE id = ?", (until, broadcast_id))

    def preempt_broadcast(
        self, broadcast_id: str, by: Broadcast, reason: str = "", heard: Heard | None = None
    ) -> Broadcast:
        """Holds an airing broadcast back for ``by``; the interruption records where it was cut.

        ``heard``: what the speakers heard of the stopped airing (OnAir.heard): the interruption starts at
        its last sample, and the audio aired counts what they played; None (nothing of it was heard):
        the interruption starts now, or where the last one ended if this was a resume not heard yet."""
        with self._lock:
            b = self.get_broadcast(broadcast_id)
            at, start = b.progress, self._clock()
            if heard is not None:
                at, start = dataclasses.replace(at, aired_s=heard.aired_s), heard.until
            elif b.state == BroadcastState.SYNTHESIZING and b.interruptions and b.interruptions[-1].end_time:
                start = b.interruptions[-1].end_time  # resumed, nothing heard yet: the silence runs on
            why = reason or f"{by.priority.name.lower()} broadcast {by.id}"
            return self.update_broadcast(
                broadcast_id,
                EventType.PREEMPTED,
                state=BroadcastState.PREEMPTED,
                progress=at,
                message=f"preempted by {why}",
                interrupt=Interruption(
                    start_time=start,
                    reason=why,
                    at=at,
                    by_broadcast_id=by.id,
                    by_priority=by.priority,
                ),
                expect_states=AIRING_STATES,
            )

    # -- events ---------------------------------------------------------------------------------------

    def events(self, broadcast_id: str, after_seq: int = 0) -> list[Event]:
        """The broadcast's history after event ``after_seq`` (0: all), oldest first."""
        with self._guard():
            broadcast_rows.get(self._conn, broadcast_id)  # NotFound for an unknown id
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

    def _recover(self) -> tuple[str, ...]:
        """Re-queues what a crash cut; returns their ids."""
        states = ", ".join(str(int(s)) for s in (*AIRING_STATES, BroadcastState.PREEMPTED))
        with self._guard():
            ids = [r[0] for r in self._conn.execute(f"SELECT id FROM broadcasts WHERE state IN ({states})")]
        for bid in ids:
            b = self.get_broadcast(bid)
            at, start = b.progress, self._cut_start(b)
            heard = self.heard.read(bid) if self.heard is not None else None
            if b.state != BroadcastState.PREEMPTED and heard is not None and heard.until >= start:
                at, start = dataclasses.replace(at, aired_s=heard.aired_s), heard.until
            if b.state == BroadcastState.PREEMPTED:  # its cut lasts on: the restart cut nothing heard
                self.update_broadcast(bid, EventType.QUEUED, state=BroadcastState.QUEUED, message=(
                    f"{RESTART_REASON}: still held back at airing {at.repeat_index + 1}, "
                    f"segment {at.segment_index + 1}, sentence {at.sentence_index + 1}"
                ))  # fmt: skip
                continue
            self.update_broadcast(
                bid,
                EventType.QUEUED,
                state=BroadcastState.QUEUED,
                progress=at,
                message=(
                    f"{RESTART_REASON}: queued again at airing {at.repeat_index + 1}, "
                    f"segment {at.segment_index + 1}, sentence {at.sentence_index + 1}"
                ),
                interrupt=Interruption(start_time=start, reason=RESTART_REASON, at=at),
            )
        if self.heard is not None:
            self.heard.forget_all_but(set(ids))
        return tuple(ids)

    @staticmethod
    def _cut_start(b: Broadcast) -> float:
        """Where a restart's cut starts without a heard mark (lost with a power cut): no earlier than the
        last thing the server recorded of the airing (its last progress or state change)."""
        return b.update_time
