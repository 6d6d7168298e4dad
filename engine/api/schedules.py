"""loa.v1.Schedules: calendar recurrence (docs/SCHEDULES.md). Thin: checks, the store, the scheduler.

Authorized like CreateBroadcast: the interceptor requires publisher; here the template's priority and
groups go through check_broadcast (EMERGENCY needs the emergency role; every group in the token's scope).
A token reads and changes only schedules all of whose groups it covers; the others are NOT_FOUND word for
word as an unknown id (as broadcasts, security #12).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import grpc

from engine.api import convert
from engine.api.auth import Principal, check_broadcast, principal
from engine.api.errors import field_named
from engine.errors import NotFound
from engine.jobs import recurrence
from engine.jobs.model import BroadcastSpec, Caller
from engine.jobs.schedule_store import MISSED, SCHEDULED, SKIPPED, Schedule
from engine.jobs.scheduler import Scheduler
from engine.jobs.store import Store
from engine.jobs.validation import validate_broadcast_spec
from engine.timefmt import parse_date
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc

RECENT = 20  # occurrences shown with a schedule
_STATES = {
    SCHEDULED: pb.OCCURRENCE_STATE_SCHEDULED,
    MISSED: pb.OCCURRENCE_STATE_MISSED,
    SKIPPED: pb.OCCURRENCE_STATE_SKIPPED,
}


class SchedulesServicer(loa_pb2_grpc.SchedulesServicer):
    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        check_references: Callable[[BroadcastSpec], None],
        server_zone: str,
        on_change: Callable[[], None],
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.check_references = check_references
        self.server_zone = server_zone
        self.on_change = on_change

    # -- conversion ----------------------------------------------------------------------------------

    def _recurrence(self, message: pb.Recurrence) -> recurrence.Recurrence:
        weekdays = set()
        for i, day in enumerate(message.weekdays):
            if not pb.WEEKDAY_MONDAY <= day <= pb.WEEKDAY_SUNDAY:
                raise ValueError(f"schedule.recurrence.weekdays[{i}]: unknown weekday {day}")
            weekdays.add(day - 1)
        return recurrence.build(
            message.time_zone or self.server_zone,
            list(message.times),
            frozenset(weekdays),
            message.first_date,
            message.last_date,
            list(message.exception_dates),
            prefix="schedule.recurrence.",
        )

    def _to_pb(self, s: Schedule) -> pb.Schedule:
        t = s.template
        template = pb.CreateBroadcastRequest(
            segments=[convert.segment_to_pb(seg) for seg in t.segments],
            group_ids=list(t.group_ids),
            priority=pb.Priority.Name(int(t.priority)),
            repeat_count=t.repeat_count,
            repeat_gap=convert.duration(t.repeat_gap_s),
            chime=t.chime,
            title=t.title,
            requested_by=t.requested_by,
            sentence_pause=convert.duration(t.sentence_pause_s),
        )
        rec = recurrence.to_dict(s.recurrence)
        recent = self.store.occurrence_records(s.id, limit=RECENT)
        upcoming = recurrence.next_occurrence(s.recurrence, max(s.made_until, time.time()))
        scheduled = [r for r in recent if r.state == SCHEDULED and r.at > time.time()]
        next_at = min([r.at for r in scheduled] + ([upcoming.at] if upcoming else []), default=None)
        return pb.Schedule(
            id=s.id,
            template=template,
            recurrence=pb.Recurrence(
                time_zone=rec["time_zone"],
                times=rec["times"],
                weekdays=[d + 1 for d in rec["weekdays"]],
                first_date=rec["first_date"],
                last_date=rec["last_date"],
                exception_dates=rec["exception_dates"],
            ),
            paused=s.paused,
            create_time=convert.timestamp(s.create_time),
            update_time=convert.timestamp(s.update_time),
            created_by=convert.caller_to_pb(s.created_by),
            next_time=convert.timestamp(None if s.paused else next_at),
            recent=[
                pb.Occurrence(
                    time=convert.timestamp(r.at),
                    state=_STATES.get(r.state, pb.OCCURRENCE_STATE_FAILED),
                    broadcast_id=r.broadcast_id,
                    reason=r.reason,
                )
                for r in recent
            ],
        )

    def _get(self, schedule_id: str, who: Principal) -> Schedule:
        if not schedule_id:
            raise ValueError("schedule_id: empty")
        with field_named("schedule_id"):
            schedule = self.store.get_schedule(schedule_id)
            if not all(who.covers(g) for g in schedule.group_ids):
                raise NotFound(f"no schedule {schedule_id!r}")
            return schedule

    # -- RPCs ----------------------------------------------------------------------------------------

    def CreateSchedule(self, request: pb.CreateScheduleRequest, context: grpc.ServicerContext) -> pb.Schedule:
        who = principal(context)
        message = request.schedule
        t = message.template
        check_broadcast(who, int(t.priority), list(t.group_ids))  # PermissionError: PERMISSION_DENIED
        if t.HasField("start_time"):
            raise ValueError("schedule.template.start_time: must be unset (each occurrence has its own)")
        if t.idempotency_key:
            raise ValueError("schedule.template.idempotency_key: must be empty (each occurrence has its own)")
        rec = self._recurrence(message.recurrence)
        try:
            spec = validate_broadcast_spec(convert.spec_from_pb(t, t.requested_by or who.name), time.time())
        except ValueError as exc:
            raise ValueError(f"schedule.template.{exc}") from None
        self.check_references(spec)
        spec = replace(spec, start_time=None)
        caller = Caller(who.token_id, who.name, who.role.name.lower())
        schedule = self.store.create_schedule(spec, rec, caller, paused=message.paused)
        self.scheduler.poke()
        self.on_change()
        return self._to_pb(schedule)

    def GetSchedule(self, request: pb.GetScheduleRequest, context: grpc.ServicerContext) -> pb.Schedule:
        return self._to_pb(self._get(request.schedule_id, principal(context)))

    def ListSchedules(
        self, request: pb.ListSchedulesRequest, context: grpc.ServicerContext
    ) -> pb.ListSchedulesResponse:
        who = principal(context)
        found = [
            s
            for s in self.store.list_schedules()
            if all(who.covers(g) for g in s.group_ids)
            and (not request.group_id or request.group_id in s.group_ids)
        ]
        return pb.ListSchedulesResponse(schedules=[self._to_pb(s) for s in found])

    def UpdateSchedule(self, request: pb.UpdateScheduleRequest, context: grpc.ServicerContext) -> pb.Schedule:
        who = principal(context)
        old = self._get(request.schedule_id, who)
        check_broadcast(who, int(old.template.priority), list(old.group_ids))
        add = frozenset(
            parse_date(d, f"add_exception_dates[{i}]") for i, d in enumerate(request.add_exception_dates)
        )
        remove = frozenset(
            parse_date(d, f"remove_exception_dates[{i}]")
            for i, d in enumerate(request.remove_exception_dates)
        )
        paused = request.paused if request.HasField("paused") else None
        schedule = self.store.update_schedule(old.id, paused, add, remove)
        if schedule.paused and not old.paused:
            self.scheduler.withdraw(schedule, "skipped: the schedule was paused", everything=True)
        elif add:
            self.scheduler.withdraw(schedule, "skipped: its day is an exception of the schedule")
        self.scheduler.poke()
        self.on_change()
        return self._to_pb(self.store.get_schedule(schedule.id))

    def DeleteSchedule(
        self, request: pb.DeleteScheduleRequest, context: grpc.ServicerContext
    ) -> pb.DeleteScheduleResponse:
        who = principal(context)
        schedule = self._get(request.schedule_id, who)
        check_broadcast(who, int(schedule.template.priority), list(schedule.group_ids))
        self.scheduler.withdraw(schedule, "cancelled: the schedule was deleted", everything=True)
        self.store.delete_schedule(schedule.id)
        self.on_change()
        return pb.DeleteScheduleResponse()
