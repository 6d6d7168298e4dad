"""Makes schedules' occurrences into ordinary broadcasts, once each, ahead of their time (docs/SCHEDULES.md).

Called on every Runner pass (at most every CHECK_S unless poked). For each schedule it takes the
occurrences after ``made_until`` up to ``now + lead_s`` (lead_s: the server's ahead_lead_s + MARGIN_S, so
a bulletin delivered ahead to 4G clusters is still far enough ahead when it is made) and, for each:

- due more than GRACE_S ago (the server was down, or the schedule was just resumed past it): recorded as
  missed, never aired late;
- otherwise a broadcast is created from the template, start_time the occurrence, schedule_id set, the
  idempotency key ``schedule/<id>/<UTC instant>`` under the schedule creator's token, then recorded.

Only then does ``made_until`` move. A crash between the broadcast and its record makes the same broadcast
again on restart with the same key, which the store answers with the first one: never two, never none.
On the first pass after a start, broadcasts made for occurrences that fell due more than GRACE_S before,
and that never started, are cancelled and recorded as missed (the server was down at their time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from engine.errors import NotFound
from engine.jobs.errors import InvalidTransition, StoreError
from engine.jobs.model import BroadcastState
from engine.jobs.recurrence import occurrences
from engine.jobs.schedule_store import FAILED, MISSED, SCHEDULED, SKIPPED, Schedule
from engine.jobs.store import Store
from engine.timefmt import format_time, local, zone

log = logging.getLogger(__name__)

GRACE_S = 300.0  # an occurrence up to this late still airs (a restart, a slow start); later: missed
MARGIN_S = 600.0  # made this long before the ahead lead, so synthesis ahead has time
CHECK_S = 5.0  # schedules are read at most this often unless poked
IDLE_WRITE_S = 86400.0  # made_until of a schedule with nothing due moves once a day: bounds the days scanned


def occurrence_key(schedule_id: str, at: float) -> str:
    return f"schedule/{schedule_id}/{at:.3f}"


class Scheduler:
    def __init__(
        self,
        store: Store,
        ahead_lead_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        grace_s: float = GRACE_S,
    ) -> None:
        self.store = store
        self.lead_s = ahead_lead_s + MARGIN_S
        self.grace_s = grace_s
        self._clock = clock
        self._recovered = False
        self._last = float("-inf")
        self._poked = True

    def poke(self) -> None:
        """Read the schedules on the next pass (one was created, changed or deleted)."""
        self._poked = True

    def run(self, now: float | None = None, force: bool = False) -> int:
        """One pass; returns how many broadcasts it created. Errors are logged per schedule."""
        now = self._clock() if now is None else now
        if not (force or self._poked or now - self._last >= CHECK_S):
            return 0
        self._poked = False
        self._last = now
        made = 0
        for schedule in self.store.list_schedules():
            try:
                if not self._recovered:
                    self._recover(schedule, now)
                made += self._make(schedule, now)
            except StoreError:
                log.exception("schedule %s: could not make its occurrences; retrying", schedule.id)
        self._recovered = True
        return made

    def _recover(self, schedule: Schedule, now: float) -> None:
        for record in self.store.occurrence_records(schedule.id, SCHEDULED, limit=100):
            if record.at >= now - self.grace_s:
                continue
            try:
                broadcast = self.store.get_broadcast(record.broadcast_id)
            except NotFound:
                continue
            if broadcast.state != BroadcastState.QUEUED or broadcast.air_time is not None:
                continue
            reason = f"missed: the server was down at {self._when(schedule, record.at)}"
            try:
                self.store.cancel_broadcast(broadcast.id, reason)
            except InvalidTransition:
                continue
            self.store.record_occurrence(schedule.id, record.at, MISSED, broadcast.id, reason)
            log.warning("schedule %s: occurrence %s %s", schedule.id, broadcast.id, reason)

    def _when(self, schedule: Schedule, at: float) -> str:
        return format_time(at, zone(schedule.recurrence.time_zone))

    def _make(self, schedule: Schedule, now: float) -> int:
        until = now + self.lead_s
        if schedule.paused:  # a paused stretch is neither made nor missed: resuming moves made_until
            return 0
        made = 0
        due = occurrences(schedule.recurrence, schedule.made_until, until)
        if not due and until - schedule.made_until < IDLE_WRITE_S:
            return 0  # nothing to record: no write every pass for each schedule (made_until moves later)
        for occ in due:
            if occ.at < now - self.grace_s:
                reason = f"missed: the server was down at {self._when(schedule, occ.at)}"
                self.store.record_occurrence(schedule.id, occ.at, MISSED, "", reason)
                log.warning("schedule %s: %s", schedule.id, reason)
                continue
            spec = replace(
                schedule.template,
                start_time=occ.at,
                idempotency_key=occurrence_key(schedule.id, occ.at),
                schedule_id=schedule.id,
            )
            try:
                for group_id in spec.group_ids:
                    self.store.get_group(group_id)
                broadcast, created = self.store.create_broadcast(spec, schedule.created_by)
            except (NotFound, ValueError, StoreError) as exc:
                self.store.record_occurrence(schedule.id, occ.at, FAILED, "", str(exc))
                log.error("schedule %s: occurrence at %s not made: %s", schedule.id, occ.at, exc)
                continue
            self.store.record_occurrence(schedule.id, occ.at, SCHEDULED, broadcast.id)
            made += int(created)
            if created:
                log.info(
                    "schedule %s: broadcast %s made for %s",
                    schedule.id,
                    broadcast.id,
                    self._when(schedule, occ.at),
                )
        self.store.set_made_until(schedule.id, until)
        return made

    def withdraw(self, schedule: Schedule, reason: str, everything: bool = False) -> int:
        """Cancels the broadcasts made for occurrences that are now excepted (or all, ``everything``: paused
        or deleted) and have not started; records them skipped. Returns how many."""
        tz = zone(schedule.recurrence.time_zone)
        withdrawn = 0
        for record in self.store.occurrence_records(schedule.id, SCHEDULED, limit=1000):
            if not everything and local(record.at, tz).date() not in schedule.recurrence.exceptions:
                continue
            try:
                broadcast = self.store.get_broadcast(record.broadcast_id)
                if broadcast.state != BroadcastState.QUEUED or broadcast.air_time is not None:
                    continue
                self.store.cancel_broadcast(broadcast.id, reason)
            except (NotFound, InvalidTransition):
                continue
            self.store.record_occurrence(schedule.id, record.at, SKIPPED, broadcast.id, reason)
            withdrawn += 1
        self.poke()
        return withdrawn
