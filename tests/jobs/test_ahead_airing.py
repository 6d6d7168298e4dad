"""Bulletins delivered ahead through the Runner (engine/jobs/ahead_planner.py, airing.py): a scheduled
broadcast on a group with a cluster is synthesized, stored and published before its start; at air time the
pacer sends exactly the published datagrams (also after a key rotation, which republishes), progress
comes from the stored marks, and the item is cleared at the end; a cancelled one is cleared and never
aired; a restart republishes what still waits and clears what was cut; an emergency never goes ahead.

The broker here is the publisher's view of it (the last retained payload per topic); the real Mosquitto
and speakers are in tests/broker/test_server_ahead.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from engine.api.keys import KeyLifetime, KeyStore
from engine.jobs.ahead import AheadDelivery, AheadStore
from engine.jobs.ahead_planner import AheadPlanner
from engine.jobs.model import BroadcastSpec, BroadcastState, EventType, Group, Segment
from engine.jobs.runner import Runner
from engine.jobs.store import Store
from engine.jobs.validation import validate_group
from engine.tts.synthesizer import Synthesizer
from engine.tts.voices.registry import VoiceRegistry
from streaming.broker.ahead import AheadItem
from streaming.broker.topics import Topics
from streaming.pacer import PacedSender
from streaming.priority import Priority
from tests.jobs.test_ahead import Retained
from tests.streaming.test_transport import Recording

TOPICS = Topics("t")
TEXT = "Xin chào bà con. Hôm nay trời đẹp."


def wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Rig:
    def __init__(self, directory: Path, lifetime: KeyLifetime | None = None) -> None:
        self.store = Store(directory / "loa.db")
        if not self.store.list_groups():  # else: a restart
            for gid, address in (("ga", "239.8.0.1"), ("gb", "239.8.0.2")):
                self.store.create_group(validate_group(Group(id=gid, multicast_address=address)), srtp=True)
            self.store.create_cluster("c-1", ["ga"])  # gb has no cluster
        self.keys = KeyStore(self.store, lifetime=lifetime)
        self.broker = Retained()
        self.recording = Recording()
        self.sender = PacedSender(transports=[self.recording], sr_interval=0.2).start()
        self.synth = Synthesizer(VoiceRegistry(), workers=1, registry=CollectorRegistry())
        self.ahead_db = AheadStore(directory / "ahead.db")
        self.delivery = AheadDelivery(
            self.ahead_db,
            self.broker,
            TOPICS,
            self.keys.key_source,
            sr_interval=0.2,
            spread=self.sender.spread,
        )
        self.planner = AheadPlanner(self.store, self.synth, self.delivery, lead_s=2.0).start()
        self.runner = Runner(
            self.store, self.synth, self.sender, key_source=self.keys.key_source, ahead=self.planner
        ).start()

    def create(self, groups: tuple[str, ...], start_in: float, priority: Priority = Priority.NORMAL) -> str:
        spec = BroadcastSpec(
            segments=(Segment(language="vi", text=TEXT),),
            group_ids=groups,
            start_time=time.time() + start_in,
            priority=priority,
        )
        broadcast, _ = self.store.create_broadcast(spec)
        self.runner.wake()
        return broadcast.id

    def item(self, group: str, bid: str) -> bytes | None:
        return self.broker.topics.get(TOPICS.ahead(group, bid))

    def close(self) -> None:
        self.runner.stop(1.0)
        self.planner.stop()
        self.sender.close()
        self.synth.close()
        self.ahead_db.close()
        self.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    try:
        yield r
    finally:
        r.close()


def test_a_prepared_bulletin_airs_exactly_as_published_and_is_cleared_at_the_end(rig: Rig) -> None:
    bid = rig.create(("ga", "gb"), start_in=7.0)
    cancelled = rig.create(("ga",), start_in=60.0)
    assert wait(lambda: rig.item("ga", bid) is not None and rig.item("ga", cancelled) is not None, 6)
    # every group of the bulletin gets its item, also one without clusters (one may be added later)
    first = {g: AheadItem.parse(rig.item(g, bid) or b"") for g in ("ga", "gb")}
    prepared = rig.ahead_db.get(bid)
    assert prepared is not None and prepared.marks and prepared.marks[0].sample == 0
    assert first["ga"].start_time == rig.store.get_broadcast(bid).start_time

    # a key switching mid-bulletin, made after the item went out: rendered again and republished
    switch = prepared.plan.start_time + 0.5
    rig.keys.rotate("ga", lead_s=switch - time.time())
    assert wait(lambda: rig.planner.republished >= 1, 3)
    republished = AheadItem.parse(rig.item("ga", bid) or b"")
    assert republished.datagrams != first["ga"].datagrams  # sealed under the new key from the switch on

    rig.store.cancel_broadcast(cancelled)
    rig.runner.wake()
    assert wait(lambda: rig.item("ga", cancelled) == b"", 3)
    assert rig.ahead_db.get(cancelled) is None

    assert wait(lambda: rig.store.get_broadcast(bid).state == BroadcastState.FINISHED, 20)
    done = rig.store.get_broadcast(bid)
    # the live airing sent the very datagrams each group's clusters hold
    assert rig.recording.rtp["ga"] == [d.data for d in republished.datagrams if not d.rtcp]
    assert rig.recording.rtcp["ga"] == [d.data for d in republished.datagrams if d.rtcp]
    assert rig.recording.rtp["gb"] == [d.data for d in first["gb"].datagrams if not d.rtcp]
    # progress from the stored marks: both sentences reported, on time
    events = rig.store.events(bid)
    on_air = [e for e in events if e.state == BroadcastState.ON_AIR]
    assert {e.progress.sentence_index for e in on_air} == {0, 1}
    assert done.air_time == pytest.approx(done.start_time, abs=0.05)
    assert done.progress.sentence_count == 2
    # cleared at the end: empty retained on every group, frames forgotten
    assert wait(lambda: rig.item("ga", bid) == b"" and rig.item("gb", bid) == b"", 2)
    assert rig.ahead_db.get(bid) is None and rig.ahead_db.clears() == []
    assert rig.planner.prepared == 2 and rig.planner.cleared == 2


def test_a_bulletin_beyond_the_keys_made_so_far_goes_ahead_once_its_key_exists(tmp_path: Path) -> None:
    # keys live 6 s and the next is made 3 s before the switch: a bulletin 9 s away has no key yet
    rig = Rig(tmp_path, KeyLifetime(lifetime_s=6.0, ahead_s=3.0, overlap_s=0.5))
    try:
        first_key_ends = max(k.not_after or 0.0 for k in rig.keys.keys("ga"))
        bid = rig.create(("ga",), start_in=first_key_ends - time.time() + 2.5)
        time.sleep(1.0)
        assert rig.item("ga", bid) is None, "no key covers its start: nothing to seal it with yet"
        assert wait(lambda: rig.item("ga", bid) is not None, 7), "prepared once the next key was made"
        item = AheadItem.parse(rig.item("ga", bid) or b"")
        assert item.start_time == rig.store.get_broadcast(bid).start_time and rig.planner.prepared == 1
    finally:
        rig.close()


def test_an_emergency_or_a_group_without_clusters_never_goes_ahead(rig: Rig) -> None:
    emergency = rig.create(("ga",), start_in=30.0, priority=Priority.EMERGENCY)
    no_cluster = rig.create(("gb",), start_in=30.0)
    soon = rig.create(("ga",), start_in=1.5)  # within the 2 s lead
    time.sleep(2.0)
    assert rig.broker.calls == [] and rig.planner.prepared == 0
    for bid in (emergency, no_cluster, soon):
        assert rig.ahead_db.get(bid) is None


def test_a_restart_republishes_what_still_waits_and_clears_what_was_cut(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        waiting = rig.create(("ga",), start_in=60.0)
        cut = rig.create(("ga",), start_in=60.0)
        assert wait(lambda: rig.ahead_db.get(waiting) is not None and rig.ahead_db.get(cut) is not None, 6)
    finally:
        rig.close()
    store = Store(tmp_path / "loa.db")  # a broadcast cut by the crash comes back QUEUED, interrupted
    store.update_broadcast(cut, EventType.SYNTHESIZING, state=BroadcastState.SYNTHESIZING)
    store.close()
    rig = Rig(tmp_path)
    try:
        rig.runner.wake()
        assert wait(lambda: rig.item("ga", cut) == b"" and rig.item("ga", waiting) is not None, 5)
        assert AheadItem.parse(rig.item("ga", waiting) or b"").bulletin == waiting
        assert rig.ahead_db.get(cut) is None and rig.ahead_db.get(waiting) is not None
    finally:
        rig.close()


def test_a_preempted_prepared_bulletin_is_cleared_and_resumes_live_under_a_fresh_ssrc(rig: Rig) -> None:
    bid = rig.create(("ga",), start_in=5.0)
    assert wait(lambda: rig.item("ga", bid) is not None, 4)
    item = AheadItem.parse(rig.item("ga", bid) or b"")
    prepared = rig.ahead_db.get(bid)
    assert prepared is not None
    assert wait(lambda: rig.store.get_broadcast(bid).state == BroadcastState.ON_AIR, 8)
    alert = BroadcastSpec(
        segments=(Segment(language="vi", text="Khẩn cấp."),), group_ids=("ga",), priority=Priority.EMERGENCY
    )
    rig.store.create_broadcast(alert)
    rig.runner.wake()
    assert wait(lambda: rig.item("ga", bid) == b"", 5)  # cleared on the preemption
    assert rig.ahead_db.get(bid) is None
    assert wait(lambda: rig.store.get_broadcast(bid).state == BroadcastState.FINISHED, 25)
    ssrcs = [int.from_bytes(d[8:12], "big") for d in rig.recording.rtp["ga"]]
    assert len(dict.fromkeys(ssrcs)) == 3  # the prepared stream, the alert, the resumed rest
    resumed = ssrcs[-1]
    assert resumed != prepared.plan.ssrc
    # under the prepared SSRC only datagrams the clusters hold (a prefix: it was cut), never others
    cached = [d.data for d in item.datagrams if not d.rtcp]
    sent = [d for d, s in zip(rig.recording.rtp["ga"], ssrcs, strict=True) if s == prepared.plan.ssrc]
    assert 0 < len(sent) < len(cached) and sent == cached[: len(sent)]
