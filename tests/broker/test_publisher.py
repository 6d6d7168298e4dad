"""How the publisher cuts a group's datagrams into bundles (the broker itself: test_broker.py)."""

from __future__ import annotations

from streaming.broker.bundle import Bundle, Kind
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.topics import Topics


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Bundle]] = []
        self.up = True

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        assert qos == 0 and not retain
        self.sent.append((topic, Bundle.parse(payload)))
        return self.up


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _frames(pub: BrokerPublisher, clock: Clock, group: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        pub.send(group, [b"rtp%d" % i], rtcp=False)
        clock.now += 0.02


def test_five_frames_make_one_bundle_per_group() -> None:
    rec, clock = Recorder(), Clock()
    pub = BrokerPublisher(rec, Topics(), clock=clock)
    _frames(pub, clock, "a", 12)
    assert [t for t, _ in rec.sent] == ["loa/v1/g/a/media"] * 2
    assert [d.data for _, b in rec.sent for d in b.datagrams] == [b"rtp%d" % i for i in range(10)]
    pub.end("a")
    assert [d.data for d in rec.sent[-1][1].datagrams] == [b"rtp10", b"rtp11"]
    assert pub.counters.datagrams == 12 and pub.counters.bundles == 3


def test_rtcp_flushes_with_the_frames_before_it() -> None:
    rec, clock = Recorder(), Clock()
    pub = BrokerPublisher(rec, Topics(), clock=clock)
    _frames(pub, clock, "a", 2)
    pub.send("a", [b"sr-or-bye"], rtcp=True)
    ((_, bundle),) = rec.sent
    assert [(d.kind, d.data) for d in bundle.datagrams] == [
        (Kind.RTP, b"rtp0"),
        (Kind.RTP, b"rtp1"),
        (Kind.RTCP, b"sr-or-bye"),
    ]


def test_a_stalled_stream_is_flushed_after_max_wait() -> None:
    rec, clock = Recorder(), Clock()
    pub = BrokerPublisher(rec, Topics(), clock=clock, max_wait_s=0.1)
    pub.send("a", [b"x"], rtcp=False)
    pub.poll()
    assert rec.sent == []
    clock.now += 0.1
    pub.poll()
    assert len(rec.sent) == 1
    pub.send("a", [b"y"], rtcp=False)
    clock.now += 0.15
    pub.send("a", [b"z"], rtcp=False)  # the next send notices the age too
    assert [d.data for d in rec.sent[-1][1].datagrams] == [b"y", b"z"]


def test_groups_are_bundled_apart_and_unsent_bundles_counted() -> None:
    rec, clock = Recorder(), Clock()
    rec.up = False
    pub = BrokerPublisher(rec, Topics("hue"), clock=clock, frames_per_bundle=2)
    pub.send("a", [b"a0", b"a1", b"a2"], rtcp=False)
    pub.send("b", [b"b0"], rtcp=False)
    pub.close()
    assert [(t, [d.data for d in b.datagrams]) for t, b in rec.sent] == [
        ("loa/v1/hue/g/a/media", [b"a0", b"a1"]),
        ("loa/v1/hue/g/a/media", [b"a2"]),
        ("loa/v1/hue/g/b/media", [b"b0"]),
    ]
    assert pub.counters.unsent == 3
