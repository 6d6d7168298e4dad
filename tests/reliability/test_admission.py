"""engine/api/admission.py without a server: the limits, the pure refusal rule, the slots, the backlog
read from a real store."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from engine.api.admission import Admission, Backlog, BacklogReader, Limits, Slots, refusal
from engine.config import Config
from engine.errors import Exhausted
from engine.jobs.model import BroadcastSpec, Group, Priority, Segment
from engine.jobs.store import Store

LIMITS = Limits(queued={Priority.NORMAL: 2, Priority.HIGH: 1}, queued_audio_bytes=1000, retry_after_s=0.5)


def _spec(priority: Priority = Priority.NORMAL, audio: bytes | None = None, key: str = "") -> BroadcastSpec:
    segment = Segment(language="vi", audio=audio) if audio else Segment(language="vi", text="Xin chào.")
    return BroadcastSpec(segments=(segment,), group_ids=("g",), priority=priority, idempotency_key=key)


def test_refusal_counts_per_priority_and_never_refuses_emergency() -> None:
    full = Backlog({Priority.NORMAL: 2, Priority.HIGH: 1, Priority.EMERGENCY: 10_000}, audio_bytes=10**9)
    normal = refusal(Priority.NORMAL, 0, full, LIMITS)
    assert isinstance(normal, Exhausted) and "max_queued_normal" in str(normal)
    assert 5.0 <= normal.retry_after_s <= 7.5  # 10x the base, with up to half again of jitter
    assert refusal(Priority.HIGH, 0, full, LIMITS) is not None
    assert refusal(Priority.EMERGENCY, 10**9, full, LIMITS) is None
    room = Backlog({Priority.NORMAL: 1}, audio_bytes=0)
    assert refusal(Priority.NORMAL, 0, room, LIMITS) is None
    assert refusal(Priority.HIGH, 0, room, LIMITS) is None


def test_refusal_bounds_the_audio_held_by_the_queue() -> None:
    backlog = Backlog({Priority.NORMAL: 0}, audio_bytes=900)
    assert refusal(Priority.NORMAL, 100, backlog, LIMITS) is None
    too_much = refusal(Priority.NORMAL, 101, backlog, LIMITS)
    assert too_much is not None and "max_queued_audio_mb" in str(too_much)


def test_slots_refuse_beyond_the_limit_and_come_back() -> None:
    slots = Slots("synthesis", "max_synthesis_calls", 2, retry_after_s=1.0)
    with slots.take(), slots.take():
        with pytest.raises(Exhausted) as refused, slots.take():
            pass
        assert "2 calls in progress, at most 2" in str(refused.value) and refused.value.retry_after_s >= 1.0
    assert slots.in_use == 0
    with pytest.raises(RuntimeError), slots.take():  # an error inside still gives the slot back
        raise RuntimeError
    assert slots.in_use == 0


def test_slots_never_exceed_the_limit_under_contention() -> None:
    slots = Slots("x", "max_x", 3, 1.0)
    peak, lock, barrier = [0], threading.Lock(), threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        for _ in range(200):
            try:
                with slots.take(), lock:
                    peak[0] = max(peak[0], slots.in_use)
            except Exhausted:
                pass

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] <= 3 and slots.in_use == 0


def test_limits_from_config_check_the_thread_budget() -> None:
    limits = Limits.from_config(Config())
    assert limits.synthesis_calls == 8 and limits.queue_limit(Priority.EMERGENCY) is None
    with pytest.raises(ValueError, match="max_synthesis_calls \\+ max_watch_calls"):
        Limits.from_config(
            dataclasses.replace(Config(), grpc_threads=16, max_synthesis_calls=8, max_watch_calls=4)
        )
    with pytest.raises(ValueError, match="config max_queued_high"):
        Limits.from_config(dataclasses.replace(Config(), max_queued_high=0))


def test_admission_reads_the_backlog_from_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "loa.db") as store:
        store.create_group(Group(id="g", multicast_address="239.1.1.1"))
        reader = BacklogReader(store.path)
        admission = Admission(LIMITS, reader)
        try:
            for _ in range(2):
                with admission.broadcast(_spec(key="")):
                    store.create_broadcast(_spec())
            keyed = _spec(key="k")
            store.cancel_broadcast(store.create_broadcast(keyed)[0].id)  # ended: not counted
            with pytest.raises(Exhausted), admission.broadcast(_spec()):
                pytest.fail("a third NORMAL broadcast was admitted")
            with admission.broadcast(keyed):  # a retry of a stored request gets through to its answer
                pass
            with admission.broadcast(_spec(Priority.EMERGENCY)):
                store.create_broadcast(_spec(Priority.EMERGENCY))
            assert reader.backlog().counts == {Priority.NORMAL: 2, Priority.EMERGENCY: 1}
        finally:
            admission.close()
