"""Schedules and their occurrences, a part of the Store (engine/jobs/store.py); docs/SCHEDULES.md.

A schedule is a broadcast template (a BroadcastSpec without start time) and a Recurrence. ``made_until``
says up to which instant its occurrences were made into broadcasts or recorded (missed, failed); the
occurrences table has one row per occurrence, keyed by (schedule, instant), so an occurrence is made once
whatever restarts happen between making its broadcast and recording it (the broadcast's idempotency key
is derived from the same pair: engine/jobs/scheduler.py).
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from engine.jobs import recurrence, serialize
from engine.jobs.errors import NotFound
from engine.jobs.model import BroadcastSpec, Caller
from engine.jobs.recurrence import Recurrence
from engine.jobs.store_base import StoreBase

SCHEDULED, MISSED, SKIPPED, FAILED = "scheduled", "missed", "skipped", "failed"
OCCURRENCE_STATES = (SCHEDULED, MISSED, SKIPPED, FAILED)


@dataclass(frozen=True)
class Schedule:
    id: str
    template: BroadcastSpec  # start_time None, idempotency_key ""
    recurrence: Recurrence
    paused: bool
    create_time: float
    update_time: float
    made_until: float
    created_by: Caller | None

    @property
    def group_ids(self) -> tuple[str, ...]:
        return self.template.group_ids


@dataclass(frozen=True)
class OccurrenceRecord:
    schedule_id: str
    at: float
    state: str
    broadcast_id: str
    reason: str
    record_time: float


def template_to_json(spec: BroadcastSpec) -> str:
    data = serialize.spec_to_dict(spec)
    data["audio_b64"] = {
        str(i): base64.b64encode(s.audio).decode() for i, s in enumerate(spec.segments) if s.audio is not None
    }
    return serialize.dumps(data)


def template_from_json(text: str) -> BroadcastSpec:
    data = json.loads(text)
    audio = {int(i): base64.b64decode(b) for i, b in data.pop("audio_b64", {}).items()}
    return serialize.spec_from_dict(data, audio)


_COLUMNS = (
    "id, template, recurrence, paused, create_time, update_time, made_until, created_by_token,"
    " created_by_name, created_by_role"
)


def _schedule(row: tuple[Any, ...]) -> Schedule:
    caller = Caller(row[7] or "", row[8], row[9]) if row[8] is not None else None
    return Schedule(
        id=row[0],
        template=template_from_json(row[1]),
        recurrence=recurrence.from_dict(json.loads(row[2])),
        paused=bool(row[3]),
        create_time=row[4],
        update_time=row[5],
        made_until=row[6],
        created_by=caller,
    )


class ScheduleStore(StoreBase):
    def create_schedule(
        self, template: BroadcastSpec, rec: Recurrence, caller: Caller | None, paused: bool = False
    ) -> Schedule:
        """Stores a checked template and recurrence; occurrences count from now on (none before)."""
        template = replace(template, start_time=None, idempotency_key="", schedule_id="")
        with self._tx() as conn:
            now = self._clock()
            while True:
                sid = "s-" + secrets.token_hex(6)
                if not conn.execute("SELECT 1 FROM schedules WHERE id = ?", (sid,)).fetchone():
                    break
            conn.execute(
                f"INSERT INTO schedules ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid, template_to_json(template), serialize.dumps(recurrence.to_dict(rec)), int(paused),
                    now, now, now,
                    caller.token_id if caller else None, caller.name if caller else None,
                    caller.role if caller else None,
                ),
            )  # fmt: skip
            return self._get(conn, sid)

    def _get(self, conn: sqlite3.Connection, schedule_id: str) -> Schedule:
        row = conn.execute(f"SELECT {_COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        if row is None:
            raise NotFound(f"no schedule {schedule_id!r}")
        return _schedule(row)

    def get_schedule(self, schedule_id: str) -> Schedule:
        with self._guard():
            return self._get(self._conn, schedule_id)

    def list_schedules(self) -> list[Schedule]:
        with self._guard():
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM schedules ORDER BY create_time, id").fetchall()
        return [_schedule(r) for r in rows]

    def update_schedule(
        self,
        schedule_id: str,
        paused: bool | None = None,
        add_exceptions: frozenset[date] = frozenset(),
        remove_exceptions: frozenset[date] = frozenset(),
    ) -> Schedule:
        with self._tx() as conn:
            old = self._get(conn, schedule_id)
            rec = replace(
                old.recurrence, exceptions=(old.recurrence.exceptions | add_exceptions) - remove_exceptions
            )
            if len(rec.exceptions) > recurrence.MAX_EXCEPTIONS:
                raise ValueError(f"add_exception_dates: at most {recurrence.MAX_EXCEPTIONS} in all")
            now = self._clock()
            # resuming: the paused stretch is not "missed", occurrences count again from now
            made_until = max(old.made_until, now) if old.paused and paused is False else old.made_until
            conn.execute(
                "UPDATE schedules SET recurrence = ?, paused = ?, update_time = ?, made_until = ?"
                " WHERE id = ?",
                (
                    serialize.dumps(recurrence.to_dict(rec)),
                    int(old.paused if paused is None else paused),
                    now,
                    made_until,
                    schedule_id,
                ),
            )
            return self._get(conn, schedule_id)

    def delete_schedule(self, schedule_id: str) -> None:
        with self._tx() as conn:
            self._get(conn, schedule_id)
            conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
            conn.execute("DELETE FROM occurrences WHERE schedule_id = ?", (schedule_id,))

    def set_made_until(self, schedule_id: str, until: float) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE schedules SET made_until = MAX(made_until, ?) WHERE id = ?", (until, schedule_id)
            )

    def record_occurrence(
        self, schedule_id: str, at: float, state: str, broadcast_id: str = "", reason: str = ""
    ) -> None:
        """Writes (or, for a later state of the same occurrence, overwrites) its record."""
        assert state in OCCURRENCE_STATES
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO occurrences (schedule_id, at, state, broadcast_id, reason, record_time)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (schedule_id, at) DO UPDATE SET state = excluded.state,"
                " broadcast_id = CASE WHEN excluded.broadcast_id = '' THEN broadcast_id"
                " ELSE excluded.broadcast_id END, reason = excluded.reason,"
                " record_time = excluded.record_time",
                (schedule_id, at, state, broadcast_id, reason, self._clock()),
            )

    def occurrence_records(
        self, schedule_id: str, state: str | None = None, limit: int = 1000
    ) -> list[OccurrenceRecord]:
        """Newest first."""
        query = (
            "SELECT schedule_id, at, state, broadcast_id, reason, record_time FROM occurrences"
            " WHERE schedule_id = ?"
        )
        args: list[Any] = [schedule_id]
        if state is not None:
            query += " AND state = ?"
            args.append(state)
        with self._guard():
            rows = self._conn.execute(query + " ORDER BY at DESC LIMIT ?", (*args, limit)).fetchall()
        return [OccurrenceRecord(*r) for r in rows]
