from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from engine.jobs.model import Broadcast, BroadcastState, Interruption, Priority, Progress
from engine.jobs.policy import Airing, Plan, Preemption, airing_groups, plan
from tests.jobs.conftest import FakeClock, make_group, make_spec

S, P = BroadcastState, Priority
NOW = 1_790_000_000.0
_seq = itertools.count(1)


def bc(
    bid: str,
    *groups: str,
    state: BroadcastState = S.QUEUED,
    priority: Priority = P.NORMAL,
    start: float = NOW - 1,
) -> Broadcast:
    seq = next(_seq)
    cuts: tuple[Interruption, ...] = ()
    if state == S.PREEMPTED:
        cuts = (Interruption(start_time=NOW - 1, reason="held", at=Progress(sentence_index=2)),)
    return Broadcast(
        id=bid,
        spec=make_spec(*groups, priority=priority),
        state=state,
        seq=seq,
        create_time=NOW - 100 + seq,
        start_time=start,
        update_time=NOW,
        interruptions=cuts,
    )


def ids(airings: tuple[Airing, ...]) -> list[str]:
    return [a.broadcast_id for a in airings]


def test_nothing_to_do() -> None:
    assert plan(NOW, []) == Plan()


def test_emergency_preempts_normal_on_a_shared_group_and_normal_resumes() -> None:
    normal = bc("normal", "ap-1", "ap-2", state=S.ON_AIR)
    emergency = bc("bao", "ap-2", priority=P.EMERGENCY)
    step = plan(NOW, [normal, emergency])
    assert step.preempt == (Preemption("normal", "bao", P.EMERGENCY),)
    assert step.start == (Airing("bao", ("ap-2",), NOW, resuming=False),)
    # The runner applied it: normal is held back while the emergency airs...
    normal = dataclasses.replace(
        normal,
        state=S.PREEMPTED,
        interruptions=(Interruption(start_time=NOW, reason="bao", at=Progress(sentence_index=3)),),
    )
    emergency = dataclasses.replace(emergency, state=S.ON_AIR)
    assert plan(NOW + 1, [normal, emergency]) == Plan()
    # ...and resumes, from where it was cut, when the emergency is over.
    step = plan(NOW + 2, [normal])
    assert step.resume == (Airing("normal", ("ap-1", "ap-2"), NOW + 2, resuming=True),)
    assert step.start == () and step.preempt == ()


def test_priority_order_on_a_group() -> None:
    high_on_air = bc("high", "ap-1", state=S.ON_AIR, priority=P.HIGH)
    assert plan(NOW, [high_on_air, bc("normal", "ap-1")]) == Plan()  # lower waits
    assert plan(NOW, [high_on_air, bc("high2", "ap-1", priority=P.HIGH)]) == Plan()  # equal waits
    step = plan(NOW, [high_on_air, bc("bao", "ap-1", priority=P.EMERGENCY)])
    assert step.preempt == (Preemption("high", "bao", P.EMERGENCY),) and ids(step.start) == ["bao"]
    step = plan(NOW, [bc("normal", "ap-1", state=S.SYNTHESIZING), bc("high3", "ap-1", priority=P.HIGH)])
    assert step.preempt == (Preemption("normal", "high3", P.HIGH),)


def test_priorities_on_disjoint_groups_run_together() -> None:
    step = plan(
        NOW,
        [
            bc("n-on", "ap-1", state=S.ON_AIR),
            bc("e", "ap-2", priority=P.EMERGENCY),
            bc("h", "ap-3", priority=P.HIGH),
            bc("n", "ap-4"),
        ],
    )
    assert step.preempt == () and sorted(ids(step.start)) == ["e", "h", "n"]


def test_fifo_within_a_priority() -> None:
    first = bc("first", "ap-1", start=NOW - 10)
    second = bc("second", "ap-1", start=NOW - 20)  # created later but due earlier: goes first
    third = bc("third", "ap-1", start=NOW - 20)  # same start time: creation order
    assert ids(plan(NOW, [first, second, third]).start) == ["second"]
    assert ids(plan(NOW, [first, third]).start) == ["third"]
    # Disjoint groups still start in parallel.
    assert ids(plan(NOW, [first, bc("other", "ap-2")]).start) == ["first", "other"]


def test_waiting_broadcast_reserves_its_groups() -> None:
    busy = bc("busy", "ap-2", state=S.ON_AIR)
    wide = bc("wide", "ap-1", "ap-2", start=NOW - 30)  # waits for ap-2
    narrow = bc("narrow", "ap-1", start=NOW - 10)  # would take ap-1 ahead of wide: must wait
    assert plan(NOW, [busy, wide, narrow]) == Plan()
    # A higher priority is not held back by a lower one's reservation.
    urgent = bc("urgent", "ap-1", priority=P.HIGH)
    assert ids(plan(NOW, [busy, wide, urgent]).start) == ["urgent"]
    # A blocked higher priority preempts nothing: "low" keeps ap-1 while "high" waits for ap-2.
    step = plan(
        NOW,
        [bc("low", "ap-1", state=S.ON_AIR), bc("peer", "ap-2", state=S.ON_AIR, priority=P.HIGH),
         bc("high", "ap-1", "ap-2", priority=P.HIGH)],
    )  # fmt: skip
    assert step == Plan()


def test_scheduled_start_and_next_wakeup() -> None:
    later = bc("later", "ap-1", start=NOW + 30)
    soon = bc("soon", "ap-2", start=NOW + 5)
    step = plan(NOW, [later, soon])
    assert step.start == () and step.next_wakeup == NOW + 5
    step = plan(NOW + 5, [later, soon])
    assert (
        step.start == (Airing("soon", ("ap-2",), NOW + 5, resuming=False),) and step.next_wakeup == NOW + 30
    )
    # With a lead time the runner starts synthesizing early and plays at the start time exactly.
    step = plan(NOW + 28.5, [later], lead_s=2.0)
    assert step.start == (Airing("later", ("ap-1",), NOW + 30, resuming=False),)
    assert plan(NOW + 27.5, [later], lead_s=2.0) == Plan(next_wakeup=NOW + 28)


ALL = frozenset({"tinh", "ap-1", "ap-2", "ap-3", "ap-4", "ap-7", "ap-9"})


def test_emergency_to_every_group_is_one_stream_to_the_emergency_group() -> None:
    wide = bc("bao", *sorted(ALL - {"tinh"}), priority=P.EMERGENCY)
    named = bc("lu", "tinh", priority=P.EMERGENCY)
    some = bc("chay", "ap-1", "ap-4", priority=P.EMERGENCY)
    assert airing_groups(wide, "tinh", ALL) == ("tinh",)
    assert airing_groups(named, "tinh", ALL) == ("tinh",)
    assert airing_groups(wide, None, ALL) == wide.group_ids
    # Targeted: only the hamlets it names hear it, one encoding sent to each.
    assert airing_groups(some, "tinh", ALL) == ("ap-1", "ap-4")
    assert airing_groups(bc("n", *sorted(ALL - {"tinh"})), "tinh", ALL) == tuple(sorted(ALL - {"tinh"}))
    # Every speaker hears the emergency group, so it holds every group: all lower ones yield.
    step = plan(NOW, [bc("n9", "ap-9", state=S.ON_AIR), wide], emergency_group_id="tinh", all_group_ids=ALL)
    assert step.preempt == (Preemption("n9", "bao", P.EMERGENCY),)
    assert step.start == (Airing("bao", ("tinh",), NOW, resuming=False),)
    # While it airs, nothing lower starts anywhere.
    on_air = dataclasses.replace(wide, state=S.ON_AIR)
    high = bc("h", "ap-7", priority=P.HIGH)
    assert plan(NOW, [on_air, high], emergency_group_id="tinh", all_group_ids=ALL) == Plan()
    # Two emergencies: the second waits for the first.
    assert plan(NOW, [on_air, some], emergency_group_id="tinh", all_group_ids=ALL) == Plan()


def test_targeted_emergency_preempts_only_its_groups() -> None:
    some = bc("chay", "ap-1", "ap-4", priority=P.EMERGENCY)
    elsewhere = bc("n9", "ap-9", state=S.ON_AIR)
    there = bc("n1", "ap-1", state=S.ON_AIR)
    step = plan(NOW, [elsewhere, there, some], emergency_group_id="tinh", all_group_ids=ALL)
    assert step.preempt == (Preemption("n1", "chay", P.EMERGENCY),)
    assert step.start == (Airing("chay", ("ap-1", "ap-4"), NOW, resuming=False),)


def test_recovered_broadcast_resumes_from_its_progress() -> None:
    cut = Interruption(start_time=NOW - 5, reason="server restart", at=Progress(segment_index=1))
    queued = dataclasses.replace(bc("x", "ap-1"), interruptions=(cut,))
    assert plan(NOW, [queued]).start == (Airing("x", ("ap-1",), NOW, resuming=True),)


def test_plan_with_store_broadcasts(tmp_path: Path, clock: FakeClock) -> None:
    """The store's active_broadcasts feed the policy as they are."""
    from engine.jobs.store import Store

    with Store(tmp_path / "loa.db", clock=clock) as store:
        store.create_group(make_group("tinh", "239.0.0.1", emergency=True))
        a, _ = store.create_broadcast(make_spec("ap-1"))
        b, _ = store.create_broadcast(make_spec("ap-1", text="Sau."))
        c, _ = store.create_broadcast(make_spec("ap-2", text="Hẹn giờ.", start_time=clock.now + 60))
        step = plan(clock.now, store.active_broadcasts(), emergency_group_id=store.emergency_group().id)  # type: ignore[union-attr]
        assert ids(step.start) == [a.id] and step.next_wakeup == c.start_time
        assert b.id not in ids(step.start)
