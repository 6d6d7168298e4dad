"""engine/jobs/scheduler.py over a real SQLite store and a fake clock: each occurrence becomes one
broadcast at its UTC instant, ahead of time; a restart never duplicates or loses one; an occurrence whose
time passed while the server was down is recorded as missed, never aired late; skip and pause withdraw."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from engine.jobs.model import BroadcastState, Caller, Priority
from engine.jobs.recurrence import build, parse_weekdays
from engine.jobs.schedule_store import MISSED, SCHEDULED, SKIPPED
from engine.jobs.scheduler import MARGIN_S, Scheduler
from engine.jobs.store import Store
from tests.jobs.conftest import FakeClock, make_group, make_spec

CALLER = Caller("0123456789abcdef", "xa-an-binh", "publisher")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def open_store(path: Path, clock: FakeClock) -> Store:
    return Store(path, clock=clock)


def test_occurrences_are_made_once_ahead_and_a_restart_neither_duplicates_nor_loses_one(
    tmp_path: Path,
) -> None:
    clock = FakeClock(utc(2026, 12, 7, 9, 0))  # Monday 16:00 in Vietnam
    store = open_store(tmp_path / "loa.db", clock)
    store.create_group(make_group("xa-an-binh", "239.192.40.1"))
    rec = build("Asia/Ho_Chi_Minh", ["17:00"], parse_weekdays("mon-fri"))
    schedule = store.create_schedule(make_spec("xa-an-binh", title="Bản tin chiều"), rec, CALLER)
    scheduler = Scheduler(store, ahead_lead_s=300, clock=clock)
    assert scheduler.run() == 0  # 17:00 is 60 min away: beyond 300 + 600 s
    clock.advance(3600 - 300 - MARGIN_S + 1)
    assert scheduler.run(force=True) == 1
    made = [b for b in store.active_broadcasts(with_audio=False) if b.spec.schedule_id == schedule.id]
    assert len(made) == 1 and made[0].start_time == utc(2026, 12, 7, 10, 0)  # 17:00 +07
    assert made[0].created_by == CALLER and made[0].spec.title == "Bản tin chiều"
    # a restart: a fresh store and scheduler over the same file; and a crash before made_until moved
    store.set_made_until(schedule.id, 0)  # as if the record of the run was lost
    store.close()
    store = open_store(tmp_path / "loa.db", clock)
    again = Scheduler(store, ahead_lead_s=300, clock=clock)
    assert again.run() == 0
    same = [b for b in store.active_broadcasts(with_audio=False) if b.spec.schedule_id == schedule.id]
    assert [b.id for b in same] == [made[0].id]
    records = store.occurrence_records(schedule.id)
    assert [(r.at, r.state, r.broadcast_id) for r in records] == [(made[0].start_time, SCHEDULED, made[0].id)]
    store.close()


def test_occurrences_missed_while_the_server_was_down_are_recorded_never_aired_late(tmp_path: Path) -> None:
    clock = FakeClock(utc(2026, 12, 7, 9, 50))  # 16:50 in Vietnam
    store = open_store(tmp_path / "loa.db", clock)
    store.create_group(make_group("xa-an-binh", "239.192.40.1"))
    rec = build("Asia/Ho_Chi_Minh", ["06:00", "17:00"])
    schedule = store.create_schedule(make_spec("xa-an-binh"), rec, CALLER)
    Scheduler(store, ahead_lead_s=300, clock=clock).run()
    made = store.occurrence_records(schedule.id)[0]
    store.close()
    # down from 16:50 until 09:00 the next day: 17:00 (made, queued) and 06:00 (never made) both passed
    clock.now = utc(2026, 12, 8, 2, 0)
    store = open_store(tmp_path / "loa.db", clock)
    Scheduler(store, ahead_lead_s=300, clock=clock).run()
    records = {r.at: r for r in store.occurrence_records(schedule.id)}
    assert records[utc(2026, 12, 7, 10, 0)].state == MISSED
    assert records[utc(2026, 12, 7, 23, 0)].state == MISSED  # 06:00 +07 on the 8th
    assert "server was down at 2026-12-08 06:00:00 +07" in records[utc(2026, 12, 7, 23, 0)].reason
    cancelled = store.get_broadcast(made.broadcast_id)
    assert cancelled.state == BroadcastState.CANCELLED and cancelled.air_time is None
    assert not [b for b in store.active_broadcasts(with_audio=False) if b.spec.schedule_id]
    store.close()


def test_a_skipped_day_and_a_pause_withdraw_what_was_made_and_a_resume_misses_nothing(tmp_path: Path) -> None:
    clock = FakeClock(utc(2026, 12, 7, 9, 50))
    store = open_store(tmp_path / "loa.db", clock)
    store.create_group(make_group("xa-an-binh", "239.192.40.1"))
    schedule = store.create_schedule(
        make_spec("xa-an-binh", priority=Priority.HIGH), build("Asia/Ho_Chi_Minh", ["17:00"]), CALLER
    )
    scheduler = Scheduler(store, ahead_lead_s=300, clock=clock)
    scheduler.run()
    made = store.occurrence_records(schedule.id)[0]
    skipped = store.update_schedule(schedule.id, add_exceptions=frozenset({date(2026, 12, 7)}))
    assert scheduler.withdraw(skipped, "skipped: 2026-12-07 is an exception") == 1
    assert store.get_broadcast(made.broadcast_id).state == BroadcastState.CANCELLED
    assert store.occurrence_records(schedule.id)[0].state == SKIPPED
    paused = store.update_schedule(schedule.id, paused=True)
    clock.now = utc(2026, 12, 10, 9, 55)  # three days paused
    scheduler.run(force=True)
    assert len(store.occurrence_records(schedule.id)) == 1  # nothing made, nothing missed
    store.update_schedule(paused.id, paused=False)
    scheduler.run(force=True)
    records = store.occurrence_records(schedule.id)
    assert (records[0].at, records[0].state) == (utc(2026, 12, 10, 10, 0), SCHEDULED)
    assert MISSED not in {r.state for r in records}
    store.close()
