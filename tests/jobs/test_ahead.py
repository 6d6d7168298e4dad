"""Server side of bulletins delivered ahead (engine/jobs/ahead.py): who goes ahead, the prepared stream kept
in SQLite across a restart, the published items equal to what the live airing sends with the stored
values, and clearing on cancel."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from engine.jobs.ahead import AheadDelivery, AheadStore, destination, eligible
from engine.jobs.model import Group
from streaming.broker.ahead import AheadItem
from streaming.broker.topics import Topics
from streaming.pacer import PacedSender
from streaming.priority import Priority
from streaming.srtp import MasterKey
from tests.streaming.test_transport import Recording

KEY = MasterKey.generate(9, not_before=time.time() - 60)
GROUPS = [
    Group("ap-1", multicast_address="239.1.1.1", playout_delay_s=1.5),
    Group("ap-2", multicast_address="239.1.1.2", playout_delay_s=0.5),
]


class Retained:
    """The broker as the server's publisher sees it: the last retained payload per topic."""

    def __init__(self) -> None:
        self.topics: dict[str, bytes] = {}
        self.calls: list[tuple[str, int, bool]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        self.calls.append((topic, qos, retain))
        self.topics[topic] = payload
        return True


def _pcm(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 48_000)) / 48_000
    return (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


def test_only_non_emergency_bulletins_scheduled_beyond_the_lead_go_ahead() -> None:
    now = 1_000_000.0
    assert eligible(Priority.NORMAL, now + 301, now)
    assert eligible(Priority.HIGH, now + 301, now)
    assert not eligible(Priority.EMERGENCY, now + 3600, now)
    assert not eligible(Priority.NORMAL, now + 299, now)
    assert not eligible(Priority.NORMAL, None, now)
    assert eligible(Priority.NORMAL, now + 31, now, lead_s=30)


def test_prepared_items_are_published_retained_per_group_and_equal_the_live_airing(tmp_path: Path) -> None:
    broker = Retained()
    store = AheadStore(tmp_path / "ahead.db")
    topics = Topics("hue")
    delivery = AheadDelivery(store, broker, topics, lambda group_id: lambda: [KEY], sr_interval=0.2)
    air_at = time.time() + 2.0
    prepared = delivery.prepare("b-1", Priority.NORMAL, GROUPS, air_at, _pcm(0.6))
    assert prepared.plan.start_time == pytest.approx(air_at - 1.5)  # the groups' largest playout delay
    assert [c[1:] for c in broker.calls] == [(1, True), (1, True)]
    items = {g.id: AheadItem.parse(broker.topics[topics.ahead(g.id, "b-1")]) for g in GROUPS}
    assert all(i.bulletin == "b-1" and i.start_time == air_at and i.priority == 1 for i in items.values())

    # a restart: the store gives back the same stream, and the airing sends it with those values
    store.close()
    again = AheadStore(tmp_path / "ahead.db").get("b-1")
    assert again == prepared
    recording = Recording()
    with PacedSender(transports=[recording], sr_interval=0.2) as sender:
        stream = sender.open_stream(
            [destination(g, lambda group_id: lambda: [KEY]) for g in GROUPS],
            again.codec,
            again.priority,
            groups=again.group_ids,
            label=again.label,  # the airing's, in every sender report's SDES
            **again.open_kwargs(),
        )
        stream.feed_encoded(again.frames)
        stream.finish()
        assert stream.wait(5)
    for g in GROUPS:
        cached = items[g.id].datagrams
        assert recording.rtp[g.id] == [t.data for t in cached if not t.rtcp]
        assert recording.rtcp[g.id] == [t.data for t in cached if t.rtcp]


def test_cancel_clears_every_groups_copy_and_forgets_the_frames(tmp_path: Path) -> None:
    broker = Retained()
    store = AheadStore(tmp_path / "ahead.db")
    delivery = AheadDelivery(store, broker, Topics(), lambda group_id: lambda: [KEY])
    delivery.prepare("b-2", Priority.HIGH, GROUPS, time.time() + 900, _pcm(0.2))
    delivery.clear("b-2")
    assert broker.topics == {"loa/v1/g/ap-1/ahead/b-2": b"", "loa/v1/g/ap-2/ahead/b-2": b""}
    assert broker.calls[-2:] == [("loa/v1/g/ap-1/ahead/b-2", 1, True), ("loa/v1/g/ap-2/ahead/b-2", 1, True)]
    assert store.get("b-2") is None and store.all() == []
    with pytest.raises(ValueError, match="emergency"):
        delivery.prepare("b-3", Priority.EMERGENCY, GROUPS, time.time() + 900, _pcm(0.2))
