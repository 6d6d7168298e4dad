"""Heard marks (engine/jobs/heard.py) and the times the store records from them: the first sample stays the
broadcast's air time, a cut starts at the last sample speakers heard and ends at the first of the resume.
The same against real speakers: tests/api/test_log_times.py."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from engine.jobs.heard import RECORD_SIZE, Heard, HeardMarks, parse, serialize
from engine.jobs.model import BroadcastState as S
from engine.jobs.model import EventType, Priority, Progress, ResumeMode
from engine.jobs.store import Store
from tests.jobs.conftest import FakeClock, make_spec


def test_a_mark_reads_back_as_written_and_a_damaged_one_is_refused() -> None:
    mark = Heard(until=1_790_000_012.345678, aired_s=7.25)
    data = serialize(mark)
    assert len(data) == RECORD_SIZE and parse(data) == mark
    with pytest.raises(ValueError, match="bytes"):
        parse(data[:-1])
    with pytest.raises(ValueError, match="checksum"):
        parse(data[:5] + bytes([data[5] ^ 1]) + data[6:])
    foreign = b"XXXX" + data[4:-4]
    with pytest.raises(ValueError, match="magic"):
        parse(foreign + zlib.crc32(foreign).to_bytes(4, "little"))
    with pytest.raises(ValueError, match="duration"):
        parse(serialize(Heard(until=1.0, aired_s=-1.0)))


def test_marks_are_rewritten_in_place_and_forgotten(tmp_path: Path) -> None:
    marks = HeardMarks(tmp_path / "heard")
    assert marks.read("ab12") is None
    marks.write("ab12", Heard(10.0, 1.0))
    marks.write("ab12", Heard(10.5, 1.5))
    assert HeardMarks(tmp_path / "heard").read("ab12") == Heard(10.5, 1.5)  # another process reads it
    (tmp_path / "heard" / "cd34").write_bytes(b"torn")
    assert marks.read("cd34") is None  # a bad file is no mark, not a wrong time
    marks.forget_all_but({"ab12"})
    assert sorted(p.name for p in (tmp_path / "heard").iterdir()) == ["ab12"]
    marks.forget("ab12")
    assert marks.read("ab12") is None
    with pytest.raises(ValueError, match="broadcast_id"):
        marks.write("../x", Heard(1.0, 0.0))


def test_air_time_is_the_first_sample_and_a_cut_spans_what_speakers_did_not_hear(
    store: Store, clock: FakeClock
) -> None:
    normal, _ = store.create_broadcast(make_spec("ap-1"))
    emergency, _ = store.create_broadcast(make_spec("ap-1", priority=Priority.EMERGENCY, text="Bão!"))
    first = clock.now + 0.5
    store.update_broadcast(normal.id, EventType.ON_AIR, state=S.ON_AIR, air_time=first)
    store.update_broadcast(normal.id, EventType.PROGRESS, progress=Progress(sentence_index=1, aired_s=2.0))
    clock.advance(5)
    held = store.preempt_broadcast(normal.id, by=emergency, heard=Heard(until=clock.now + 0.48, aired_s=4.98))
    (cut,) = held.interruptions
    assert cut.start_time == clock.now + 0.48  # the buffered audio speakers still played after the stop
    assert held.progress.aired_s == cut.at.aired_s == 4.98 and cut.at.sentence_index == 1
    clock.advance(10)
    store.update_broadcast(
        normal.id, EventType.RESUMED, state=S.SYNTHESIZING, resume_mode=ResumeMode.FROM_SENTENCE
    )
    clock.advance(1)
    resumed = store.update_broadcast(
        normal.id,
        EventType.ON_AIR,
        state=S.ON_AIR,
        air_time=clock.now + 0.5,
        resumed_at=clock.now + 0.5,
    )
    assert resumed.air_time == first  # not the resume's
    assert resumed.interruptions[0].end_time == clock.now + 0.5  # the resume's first sample heard


def test_a_restart_cuts_from_the_mark_the_dead_server_left(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "loa.db"
    with Store(path, clock=clock) as store:
        b, _ = store.create_broadcast(make_spec("ap-1"))
        store.update_broadcast(b.id, EventType.ON_AIR, state=S.ON_AIR, progress=Progress(aired_s=1.0))
        assert store.heard is not None
        store.heard.write(b.id, Heard(until=clock.now + 3.2, aired_s=3.1))
        gone, _ = store.create_broadcast(make_spec("ap-1", text="Hai."))
        store.heard.write(gone.id, Heard(until=clock.now, aired_s=0.0))
        store.cancel_broadcast(gone.id)  # ended while its mark stayed behind
    clock.advance(30)
    with Store(path, clock=clock) as store:
        after = store.get_broadcast(b.id)
        (cut,) = after.interruptions
        assert (cut.start_time, cut.at.aired_s, after.progress.aired_s) == (clock.now - 30 + 3.2, 3.1, 3.1)
        assert store.heard is not None and store.heard.read(gone.id) is None  # swept
        assert store.heard.read(b.id) is not None  # kept until its airing ends


def test_a_broadcast_cancelled_on_air_ends_when_speakers_went_silent(store: Store, clock: FakeClock) -> None:
    b, _ = store.create_broadcast(make_spec("ap-1"))
    store.update_broadcast(b.id, EventType.ON_AIR, state=S.ON_AIR)
    cancelled = store.cancel_broadcast(b.id)
    store.end_cancelled_when_heard(b.id, clock.now + 0.4)  # they played what was sent: 0.4 s more
    assert cancelled.end_time == clock.now and store.get_broadcast(b.id).end_time == clock.now + 0.4
    store.end_cancelled_when_heard(b.id, clock.now)  # never earlier
    assert store.get_broadcast(b.id).end_time == clock.now + 0.4
    done, _ = store.create_broadcast(make_spec("ap-1", text="Hai."))
    finished = store.update_broadcast(done.id, EventType.FINISHED, state=S.FINISHED)
    store.end_cancelled_when_heard(done.id, clock.now + 9)  # only a cancelled one
    assert store.get_broadcast(done.id).end_time == finished.end_time


def test_a_resume_cut_again_before_it_was_heard_keeps_the_silence_in_one_run(
    store: Store, clock: FakeClock
) -> None:
    normal, _ = store.create_broadcast(make_spec("ap-1"))
    first, _ = store.create_broadcast(make_spec("ap-1", priority=Priority.EMERGENCY, text="Một."))
    second, _ = store.create_broadcast(make_spec("ap-1", priority=Priority.EMERGENCY, text="Hai."))
    store.update_broadcast(normal.id, EventType.ON_AIR, state=S.ON_AIR)
    store.preempt_broadcast(normal.id, by=first, heard=Heard(until=clock.now + 0.5, aired_s=1.0))
    clock.advance(5)
    store.update_broadcast(
        normal.id, EventType.RESUMED, state=S.SYNTHESIZING, resume_mode=ResumeMode.FROM_SENTENCE
    )
    resumed_at = clock.now
    clock.advance(1)
    held = store.preempt_broadcast(normal.id, by=second)  # during synthesis: nothing of it was heard
    assert [c.start_time for c in held.interruptions] == [clock.now - 6 + 0.5, resumed_at]
