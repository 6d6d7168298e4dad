from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.jobs.errors import (
    AlreadyExists,
    IdempotencyConflict,
    InUse,
    InvalidPageToken,
    InvalidTransition,
    NotFound,
    StoreError,
)
from engine.jobs.model import BroadcastState, EventType, Priority, Progress, ResumeMode, Segment
from engine.jobs.store import Store
from engine.jobs.validation import InvalidField
from tests.jobs.conftest import FakeClock, make_group, make_spec

S = BroadcastState


# -- groups ---------------------------------------------------------------------------------------------


def test_group_crud(store: Store, clock: FakeClock) -> None:
    created = store.create_group(make_group("ap-1", "239.1.0.1", name="Ấp Một", fec=True))
    assert created.create_time == clock.now
    assert store.get_group("ap-1") == created
    with pytest.raises(AlreadyExists):
        store.create_group(make_group("ap-1", "239.1.0.9"))
    clock.advance(10)
    updated = store.update_group(make_group("ap-1", "239.9.9.9", name="Ấp 1"), fields=["name"])
    assert (updated.name, updated.multicast_address, updated.fec) == ("Ấp 1", "239.1.0.1", True)
    assert updated.update_time == clock.now and updated.create_time == created.create_time
    full = store.update_group(make_group("ap-1", "239.1.0.2"))
    assert (full.name, full.multicast_address, full.fec) == ("", "239.1.0.2", False)
    store.create_group(make_group("ap-2", "239.1.0.3"))
    assert [g.id for g in store.list_groups()] == ["ap-1", "ap-2"]
    store.delete_group("ap-2")
    with pytest.raises(NotFound):
        store.get_group("ap-2")
    with pytest.raises(NotFound):
        store.delete_group("ap-2")
    with pytest.raises(NotFound):
        store.update_group(make_group("ap-2", "239.1.0.3"))
    with pytest.raises(InvalidField, match="update_mask"):
        store.update_group(make_group("ap-1", "239.1.0.2"), fields=["create_time"])


def test_group_address_and_emergency_are_unique(store: Store) -> None:
    store.create_group(make_group("ap-1", "239.1.0.1", port=5004))
    store.create_group(make_group("ap-2", "239.1.0.1", port=5006))  # same address, other port: fine
    with pytest.raises(
        InvalidField, match=r"group.multicast_address: 239.1.0.1 port 5004 is already used by group 'ap-1'"
    ):
        store.create_group(make_group("ap-3", "239.1.0.1", port=5004))
    store.create_group(make_group("tinh", "239.0.0.1", emergency=True))
    assert store.emergency_group() is not None and store.emergency_group().id == "tinh"  # type: ignore[union-attr]
    with pytest.raises(InvalidField, match=r"group\.emergency: group 'tinh' is already the emergency group"):
        store.update_group(make_group("ap-1", "239.1.0.1", emergency=True), fields=["emergency"])


def test_group_in_use_cannot_be_deleted(store: Store) -> None:
    store.create_group(make_group("ap-1", "239.1.0.1"))
    b, _ = store.create_broadcast(make_spec("ap-1"))
    with pytest.raises(InUse, match=b.id):
        store.delete_group("ap-1")
    store.cancel_broadcast(b.id)
    store.delete_group("ap-1")


# -- broadcasts -----------------------------------------------------------------------------------------


def test_create_get_and_reopen(tmp_path: Path, clock: FakeClock) -> None:
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256))
    spec = make_spec(
        "ap-1", "ap-2", priority=Priority.HIGH, title="Lịch tiêm", requested_by="ubnd-xa", chime=True
    )
    spec = dataclasses.replace(spec, segments=(*spec.segments, Segment(language="km", audio=wav)))
    with Store(tmp_path / "loa.db", clock=clock) as store:
        b, created = store.create_broadcast(spec)
        assert created and b.state is S.QUEUED and b.start_time == clock.now == b.create_time
        assert store.get_broadcast(b.id) == b
        with pytest.raises(NotFound):
            store.get_broadcast("nope")
    with Store(tmp_path / "loa.db", clock=clock) as store:
        again = store.get_broadcast(b.id)
        assert again == b and again.spec == spec and again.spec.segments[1].audio == wav
        assert [e.type for e in store.events(b.id)] == [EventType.QUEUED]


def test_idempotency_key(store: Store, clock: FakeClock) -> None:
    first, created = store.create_broadcast(make_spec("ap-1", idempotency_key="bulletin-42"))
    assert created
    store.update_broadcast(first.id, EventType.ON_AIR, state=S.ON_AIR)
    clock.advance(60)
    again, created = store.create_broadcast(make_spec("ap-1", idempotency_key="bulletin-42"))
    assert not created and again.id == first.id and again.state is S.ON_AIR
    with pytest.raises(IdempotencyConflict, match="idempotency_key: 'bulletin-42' was used by broadcast"):
        store.create_broadcast(make_spec("ap-1", text="Khác.", idempotency_key="bulletin-42"))
    other, created = store.create_broadcast(make_spec("ap-1", idempotency_key="bulletin-43"))
    assert created and other.id != first.id
    assert len(store.list_broadcasts()[0]) == 2


def test_concurrent_creates_from_threads(store: Store) -> None:
    results: list[tuple[str, bool]] = []
    keyed: list[tuple[str, bool]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(20):
                b, created = store.create_broadcast(make_spec("ap-1", text=f"Tin {n}-{i}."))
                results.append((b.id, created))
                b, created = store.create_broadcast(
                    make_spec("ap-1", text="Một lần.", idempotency_key="once")
                )
                keyed.append((b.id, created))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({bid for bid, _ in results}) == 8 * 20 and all(c for _, c in results)
    assert len({bid for bid, _ in keyed}) == 1 and sum(c for _, c in keyed) == 1
    page, _ = store.list_broadcasts(page_size=1000)
    assert len(page) == 161 and len({b.seq for b in page}) == 161


def test_pagination_is_stable_under_inserts(store: Store, clock: FakeClock) -> None:
    made = []
    for i in range(120):
        clock.advance(1)
        made.append(store.create_broadcast(make_spec("ap-1", text=f"Tin {i}."))[0].id)
    seen: list[str] = []
    page, token = store.list_broadcasts(page_size=50)
    seen += [b.id for b in page]
    while token:
        store.create_broadcast(make_spec("ap-1", text=f"Chen {len(seen)}."))  # arrives between pages
        page, token = store.list_broadcasts(page_size=50, page_token=token)
        seen += [b.id for b in page]
    assert seen == made[::-1]
    with pytest.raises(InvalidPageToken, match="page_token"):
        store.list_broadcasts(page_token="!!not-a-token")
    _, token = store.list_broadcasts(page_size=10)
    with pytest.raises(InvalidPageToken, match="different filters"):
        store.list_broadcasts(page_size=10, page_token=token, group_id="ap-1")
    with pytest.raises(InvalidField, match="page_size: 1001"):
        store.list_broadcasts(page_size=1001)


def test_list_filters(store: Store, clock: FakeClock) -> None:
    t0 = clock.now
    a, _ = store.create_broadcast(make_spec("ap-1"))
    clock.advance(100)
    b, _ = store.create_broadcast(make_spec("ap-2", "ap-3"))
    clock.advance(100)
    c, _ = store.create_broadcast(make_spec("ap-3"))
    store.update_broadcast(b.id, EventType.ON_AIR, state=S.ON_AIR)

    def ids(**kw: object) -> list[str]:
        return [x.id for x in store.list_broadcasts(**kw)[0]]  # type: ignore[arg-type]

    assert ids() == [c.id, b.id, a.id]
    assert ids(group_id="ap-3") == [c.id, b.id]
    assert ids(states=[S.ON_AIR]) == [b.id]
    assert ids(states=[S.QUEUED, S.ON_AIR], group_id="ap-2") == [b.id]
    assert ids(created_after=t0 + 50) == [c.id, b.id]
    assert ids(created_after=t0 + 50, created_before=t0 + 150) == [b.id]
    assert ids(group_id="nowhere") == []


def test_updates_append_events_and_guard_terminal_states(store: Store, clock: FakeClock) -> None:
    b, _ = store.create_broadcast(make_spec("ap-1"))
    clock.advance(1)
    store.update_broadcast(b.id, EventType.SYNTHESIZING, state=S.SYNTHESIZING)
    clock.advance(1)
    on = store.update_broadcast(b.id, EventType.ON_AIR, state=S.ON_AIR)
    assert on.air_time == clock.now
    p = Progress(segment_index=0, sentence_index=3, sentence_count=9, aired_s=7.5)
    clock.advance(1)
    store.update_broadcast(b.id, EventType.PROGRESS, progress=p, message="câu 4")
    clock.advance(1)
    done = store.update_broadcast(b.id, EventType.FINISHED, state=S.FINISHED, repeats_done=1)
    assert done.end_time == clock.now and done.air_time == on.air_time and done.progress == p
    assert store.get_broadcast(b.id) == done
    events = store.events(b.id)
    assert [e.type for e in events] == [
        EventType.QUEUED,
        EventType.SYNTHESIZING,
        EventType.ON_AIR,
        EventType.PROGRESS,
        EventType.FINISHED,
    ]
    assert events[3].progress == p and events[3].message == "câu 4" and events[3].state is S.ON_AIR
    assert [e.seq for e in store.events(b.id, after_seq=events[2].seq)] == [events[3].seq, events[4].seq]
    with pytest.raises(InvalidTransition, match="already finished"):
        store.cancel_broadcast(b.id, "quá muộn")
    other, _ = store.create_broadcast(make_spec("ap-1", text="Khác."))
    with pytest.raises(InvalidTransition, match="is queued"):
        store.update_broadcast(other.id, EventType.FINISHED, state=S.FINISHED, expect_states=[S.ON_AIR])


def test_preempt_and_resume_record_the_interruption(store: Store, clock: FakeClock) -> None:
    normal, _ = store.create_broadcast(make_spec("ap-1"))
    emergency, _ = store.create_broadcast(make_spec("ap-1", priority=Priority.EMERGENCY, text="Bão!"))
    store.update_broadcast(normal.id, EventType.ON_AIR, state=S.ON_AIR)
    cut_at = Progress(segment_index=0, sentence_index=2, sentence_count=5, aired_s=4.0)
    store.update_broadcast(normal.id, EventType.PROGRESS, progress=cut_at)
    clock.advance(5)
    held = store.preempt_broadcast(normal.id, by=emergency)
    (cut,) = held.interruptions
    assert held.state is S.PREEMPTED and cut.at == cut_at and cut.start_time == clock.now
    assert (cut.by_broadcast_id, cut.by_priority, cut.end_time) == (emergency.id, Priority.EMERGENCY, None)
    assert held.open_interruption == cut
    with pytest.raises(InvalidTransition):  # only an airing broadcast can be preempted
        store.preempt_broadcast(normal.id, by=emergency)
    clock.advance(30)
    back = store.update_broadcast(
        normal.id, EventType.RESUMED, state=S.ON_AIR, resume_mode=ResumeMode.FROM_SENTENCE
    )
    (cut,) = back.interruptions
    assert (cut.end_time, cut.resume_mode) == (clock.now, ResumeMode.FROM_SENTENCE)
    assert back.open_interruption is None
    store.preempt_broadcast(normal.id, by=emergency)
    gone = store.cancel_broadcast(normal.id, "hủy")
    assert gone.interruptions[-1].resume_mode is ResumeMode.NOT_RESUMED
    assert store.events(normal.id)[-1].message == "hủy"


def test_wait_events_wakes_on_update(store: Store) -> None:
    b, _ = store.create_broadcast(make_spec("ap-1"))
    last = store.events(b.id)[-1].seq
    assert store.wait_events(b.id, last, timeout=0.05) == []
    timer = threading.Timer(0.1, lambda: store.update_broadcast(b.id, EventType.ON_AIR, state=S.ON_AIR))
    timer.start()
    got = store.wait_events(b.id, last, timeout=5.0)
    timer.join()
    assert [e.type for e in got] == [EventType.ON_AIR]


# -- crashes, recovery, failures --------------------------------------------------------------------------


def test_recovery_requeues_what_a_crash_cut(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "loa.db"
    with Store(path, clock=clock) as store:
        airing, _ = store.create_broadcast(make_spec("ap-1"))
        synth, _ = store.create_broadcast(make_spec("ap-2", text="Hai."))
        held, _ = store.create_broadcast(make_spec("ap-3", text="Ba."))
        queued, _ = store.create_broadcast(make_spec("ap-4", text="Bốn."))
        later, _ = store.create_broadcast(make_spec("ap-5", text="Năm.", start_time=clock.now + 3600))
        done, _ = store.create_broadcast(make_spec("ap-6", text="Sáu."))
        at = Progress(repeat_index=0, segment_index=1, sentence_index=4, sentence_count=7, aired_s=20.0)
        store.update_broadcast(airing.id, EventType.ON_AIR, state=S.ON_AIR, progress=at)
        store.update_broadcast(synth.id, EventType.SYNTHESIZING, state=S.SYNTHESIZING)
        store.update_broadcast(held.id, EventType.ON_AIR, state=S.ON_AIR)
        store.preempt_broadcast(held.id, by=done)
        store.update_broadcast(done.id, EventType.FINISHED, state=S.FINISHED)
        before = {b.id: b for b in (queued, later)}
        before[done.id] = store.get_broadcast(done.id)
    clock.advance(120)
    with Store(path, clock=clock, recover=False) as reader:
        assert reader.get_broadcast(airing.id).state is S.ON_AIR
    with Store(path, clock=clock) as store:
        assert set(store.recovered) == {airing.id, synth.id, held.id}
        b = store.get_broadcast(airing.id)
        assert b.state is S.QUEUED and b.progress == at
        (cut,) = b.interruptions
        assert (cut.reason, cut.at, cut.start_time, cut.end_time, cut.by_broadcast_id) == (
            "server restart",
            at,
            clock.now - 120,  # no heard mark (heard.py): from the last thing recorded before the crash
            None,
            "",
        )
        assert store.events(airing.id)[-1].message.startswith(
            "server restart: queued again at airing 1, segment 2, sentence 5"
        )
        assert store.get_broadcast(synth.id).state is S.QUEUED
        # held back when the server died: its preemption lasts on, the restart cut nothing heard
        (held_cut,) = store.get_broadcast(held.id).interruptions
        assert held_cut.by_broadcast_id == done.id and held_cut.end_time is None
        for bid, old in before.items():
            assert store.get_broadcast(bid) == old
        assert store.get_broadcast(later.id).start_time == clock.now - 120 + 3600
    with Store(path, clock=clock) as store:
        assert store.recovered == ()


_CHILD = """
import sys
from engine.jobs.store import Store
from tests.jobs.conftest import make_spec
store = Store(sys.argv[1])
for i in range(int(sys.argv[2])):
    b, _ = store.create_broadcast(make_spec("ap-1", text=f"Tin {i}.", idempotency_key=f"k{i}"))
    print(b.id, flush=True)
sys.stdin.read()
"""


def test_acknowledged_create_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "loa.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), "5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert child.stdout is not None
    acknowledged = [child.stdout.readline().strip() for _ in range(5)]
    os.kill(child.pid, signal.SIGKILL)  # no close, no checkpoint: only the WAL on disk
    child.wait()
    with Store(path) as store:
        for i, bid in enumerate(acknowledged):
            assert store.get_broadcast(bid).spec.idempotency_key == f"k{i}"
        assert len(store.list_broadcasts()[0]) == 5
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_full_disk_is_a_clear_error_and_no_corruption(tmp_path: Path) -> None:
    path = tmp_path / "loa.db"
    kept = []
    with Store(path, max_size_bytes=256 * 1024) as store:
        with pytest.raises(StoreError, match="full"):
            for i in range(10_000):
                kept.append(store.create_broadcast(make_spec("ap-1", text=f"Tin {i}. " + "chữ " * 400))[0].id)
        assert kept, "some broadcasts should fit"
        assert len(store.list_broadcasts(page_size=1000)[0]) == len(kept)
        b = store.get_broadcast(kept[0])
        assert b.state is S.QUEUED
    with Store(path) as store:
        assert [b.id for b in store.list_broadcasts(page_size=1000)[0]] == kept[::-1]
        store.create_broadcast(make_spec("ap-1", text="Còn chỗ."))  # without the cap it has room again
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_unusable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match=r"state store .*afile/loa.db"):
        Store(tmp_path / "afile" / "loa.db")
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Store(tmp_path / "junk.db")


def test_one_owner_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "loa.db"
    with Store(path) as owner:
        b, _ = owner.create_broadcast(make_spec("ap-1"))
        owner.update_broadcast(b.id, EventType.ON_AIR, state=S.ON_AIR)
        with pytest.raises(StoreError, match="in use by another server"):
            Store(path)
        with Store(path, recover=False) as reader:  # e.g. `loa broadcast log` beside a running server
            assert reader.get_broadcast(b.id).state is S.ON_AIR
        assert owner.get_broadcast(b.id).state is S.ON_AIR
    with Store(path) as next_owner:
        assert next_owner.recovered == (b.id,)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "loa.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        Store(tmp_path / "loa.db")
