"""Live segments through the Runner (engine/jobs/live_segment.py, airing.py): a tone feed (a LiveFeed of
this test, paced by the wall clock like a real one) airs for its duration, each chunk fed as it comes;
a gap of the source is an interruption with its cause and length, in the metrics and the log; a source
that never comes up fails the airing with the feed's reason; an EMERGENCY cuts the live segment and the
resumed airing opens a new feed (at the present) for what is left of the duration.

The pacer's transport is a recording; real speakers hear live sources in tests/api/test_live_voice.py."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from prometheus_client import CollectorRegistry

from engine.api import convert
from engine.jobs.ahead_planner import untouched
from engine.jobs.log import export_log
from engine.jobs.model import (
    Broadcast,
    BroadcastSpec,
    BroadcastState,
    Group,
    LiveSource,
    ResumeMode,
    Segment,
)
from engine.jobs.runner import Runner
from engine.jobs.store import Store
from engine.jobs.validation import InvalidField, validate_broadcast_spec, validate_group
from engine.live.feed import Gap, LiveSourceFailed
from engine.metrics import ServerMetrics
from engine.tts.synthesizer import Synthesizer
from engine.tts.voices.registry import VoiceRegistry
from protos.loa.v1 import loa_pb2 as pb
from streaming.pacer import PacedSender
from streaming.priority import Priority
from streaming.rtp import CLOCK_RATE
from tests.streaming.test_transport import Recording

CHUNK = 960  # 20 ms


class ToneFeed:
    """A 440 Hz tone from the moment it is made, one 20 ms chunk when the wall clock reaches it; a stall
    (silence out, a Gap recorded) from ``stall_at`` for ``stall_s`` seconds of its life."""

    def __init__(self, stall_at: float | None = None, stall_s: float = 0.0, fail: str = "") -> None:
        self.opened = time.time()
        self.stall_at, self.stall_s, self.fail = stall_at, stall_s, fail
        self._closed = threading.Event()
        self._gaps: list[Gap] = []
        self.closed_at: float | None = None

    def chunks(self) -> Iterator[np.ndarray]:
        if self.fail:
            raise LiveSourceFailed(self.fail)
        n = 0
        while not self._closed.is_set():
            due = self.opened + n * CHUNK / CLOCK_RATE
            if self._closed.wait(max(0.0, due - time.time())):
                return
            t = (np.arange(CHUNK) + n * CHUNK) / CLOCK_RATE
            chunk = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            age = n * CHUNK / CLOCK_RATE
            if self.stall_at is not None and self.stall_at <= age < self.stall_at + self.stall_s:
                chunk[:] = 0.0
                if not self._gaps:
                    self._gaps.append(Gap(self.opened + self.stall_at, self.stall_s, "stalled"))
            n += 1
            yield chunk

    def close(self) -> None:
        if not self._closed.is_set():
            self.closed_at = time.time()
        self._closed.set()

    @property
    def gaps(self) -> list[Gap]:
        return list(self._gaps)


def wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def wav(seconds: float) -> bytes:
    out = io.BytesIO()
    sf.write(out, np.full(round(seconds * 16000), 0.1, dtype=np.float32), 16000, format="WAV")
    return out.getvalue()


class Rig:
    def __init__(self, directory: Path, make_feed: Callable[[Broadcast, int], ToneFeed]) -> None:
        self.store = Store(directory / "loa.db")
        self.store.create_group(
            validate_group(Group(id="ga", multicast_address="239.8.1.1", playout_delay_s=0.2))
        )
        self.recording = Recording()
        self.sender = PacedSender(transports=[self.recording], sr_interval=0.2).start()
        self.synth = Synthesizer(VoiceRegistry(), workers=1, registry=CollectorRegistry())
        self.metrics = ServerMetrics.create()
        self.feeds: list[ToneFeed] = []

        def open_feed(broadcast: Broadcast, seg_index: int) -> ToneFeed:
            feed = make_feed(broadcast, seg_index)
            self.feeds.append(feed)
            return feed

        self.runner = Runner(
            self.store, self.synth, self.sender, metrics=self.metrics, live_feed=open_feed
        ).start()

    def create(self, segment: Segment, priority: Priority = Priority.NORMAL) -> str:
        spec = validate_broadcast_spec(BroadcastSpec((segment,), ("ga",), priority=priority), time.time())
        broadcast, _ = self.store.create_broadcast(spec)
        self.runner.wake()
        return broadcast.id

    def ended(self, bid: str, timeout: float = 10) -> Broadcast:
        assert wait(lambda: self.store.get_broadcast(bid).state.terminal, timeout)
        return self.store.get_broadcast(bid)

    def close(self) -> None:
        self.runner.stop(1.0)
        self.sender.close()
        self.synth.close()
        self.store.close()


@pytest.fixture
def rig_of(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(make_feed: Callable[[Broadcast, int], ToneFeed]) -> Rig:
        rigs.append(Rig(tmp_path / str(len(rigs)), make_feed))
        return rigs[-1]

    for n in range(3):
        (tmp_path / str(n)).mkdir()
    try:
        yield make
    finally:
        for r in rigs:
            r.close()


def test_a_live_segment_airs_its_duration_and_logs_each_gap_with_cause_and_length(
    rig_of: Callable[..., Rig],
) -> None:
    rig = rig_of(lambda b, i: ToneFeed(stall_at=0.4, stall_s=0.3))
    bid = rig.create(Segment(live=LiveSource(url="http://radio.example/vov1", duration_s=1.5)))
    done = rig.ended(bid)
    assert done.state == BroadcastState.FINISHED, done.failure_reason
    assert done.progress.live_s == pytest.approx(1.5, abs=0.001)
    assert done.progress.aired_s == pytest.approx(1.5 + 0.06, abs=0.05)  # + the live margin (silence)
    # each 20 ms chunk became one packet (+ the margin and the encoder's tail)
    assert 75 <= len(rig.recording.rtp["ga"]) <= 82
    (gap,) = done.interruptions
    assert gap.resume_mode == ResumeMode.LIVE and gap.by_broadcast_id == ""
    assert gap.reason == "live source gap: stalled, 0.3 s"
    assert gap.end_time is not None and gap.end_time - gap.start_time == pytest.approx(0.3)
    assert rig.metrics.live_gaps_total.labels("stalled")._value.get() == 1
    assert rig.metrics.live_gap_seconds_total.labels("stalled")._value.get() == pytest.approx(0.3)
    assert rig.metrics.live_gaps_total.labels("client gone")._value.get() == 0  # known causes at zero
    (entry,) = json.loads(export_log(rig.store, 0.0, fmt="json"))["broadcasts"]
    assert entry["segments"][0]["live"]["source"] == "http://radio.example/vov1"
    assert (entry["gap_count"], entry["gap_seconds"]) == (1, 0.3)
    assert entry["aired_seconds"] == pytest.approx(1.56, abs=0.05)
    assert "[live http://radio.example/vov1]" in export_log(rig.store, 0.0, fmt="csv")
    assert rig.feeds[0].closed_at is not None  # the feed is closed at the end


def test_a_source_that_never_comes_up_fails_the_airing_with_its_reason(rig_of: Callable[..., Rig]) -> None:
    rig = rig_of(lambda b, i: ToneFeed(fail="live.url: connection refused after 3 tries (5 s)"))
    bid = rig.create(Segment(live=LiveSource(url="http://radio.example/down", duration_s=60)))
    done = rig.ended(bid)
    assert done.state == BroadcastState.FAILED
    assert done.failure_reason == "live.url: connection refused after 3 tries (5 s)"


def test_an_emergency_cuts_a_live_segment_which_rejoins_its_source_at_the_present(
    rig_of: Callable[..., Rig],
) -> None:
    rig = rig_of(lambda b, i: ToneFeed())
    bid = rig.create(Segment(live=LiveSource(url="http://radio.example/vov1", duration_s=2.0)))
    assert wait(lambda: rig.store.get_broadcast(bid).state == BroadcastState.ON_AIR, 5)
    time.sleep(0.8)
    urgent = rig.create(Segment(audio=wav(0.6)), Priority.EMERGENCY)
    assert rig.ended(urgent).state == BroadcastState.FINISHED
    done = rig.ended(bid)
    assert done.state == BroadcastState.FINISHED, done.failure_reason
    first, second = rig.feeds  # a new feed for the resumed part: the old one was closed at the cut
    assert first.closed_at is not None and second.opened >= first.closed_at
    urgent_end = rig.store.get_broadcast(urgent).end_time
    assert urgent_end is not None and second.opened >= urgent_end - 0.2  # joined at the present
    (cut,) = done.interruptions
    assert cut.by_broadcast_id == urgent and cut.resume_mode == ResumeMode.LIVE
    # the cut does not count against the duration: what was left of it aired after the resume
    assert done.progress.live_s == pytest.approx(2.0, abs=0.001)
    assert cut.at.live_s in (0.0, 1.0)  # the mark (one a second) playing when it was cut, ~0.8 s in
    events = [e.message for e in rig.store.events(bid)]
    assert "resumed live at the present" in events


def test_live_segments_are_checked_field_by_field() -> None:
    now = time.time()

    def check(live: LiveSource, repeat: int = 1) -> str:
        spec = BroadcastSpec((Segment(live=live),), ("ga",), repeat_count=repeat)
        with pytest.raises(InvalidField) as err:
            validate_broadcast_spec(spec, now)
        return str(err.value)

    assert check(LiveSource(url="http://x/a")).startswith("segments[0].live.duration: a live source needs")
    assert check(LiveSource(url="http://x/a", duration_s=7 * 3600.0)).startswith("segments[0].live.duration")
    assert check(LiveSource(url="http://x/a", end_time=now - 1)).startswith("segments[0].live.end_time")
    assert check(LiveSource(url="", duration_s=5)).startswith("segments[0].live.url: empty")
    local = LiveSource(url="file:///etc/passwd", duration_s=5)
    assert check(local).startswith("segments[0].live.url: scheme")
    bad_backup = LiveSource(url="http://x/a", backup_urls=("/srv/a.mp3",), duration_s=5)
    assert check(bad_backup).startswith("segments[0].live.backup_urls[0]: a local path")
    assert check(LiveSource(url="http://x/a", duration_s=5), repeat=2).startswith("repeat_count")
    both = BroadcastSpec((Segment(text="a", live=LiveSource(url="http://x/a", duration_s=5)),), ("ga",))
    with pytest.raises(InvalidField, match=r"segments\[0\]: has a live source"):
        validate_broadcast_spec(both, now)
    with pytest.raises(ValueError, match=r"segments\[0\].live.live_voice: output only"):
        convert.segment_from_pb(pb.Segment(live=pb.LiveSource(live_voice=True)), "segments[0]")


def test_a_live_segment_round_trips_through_the_api_and_the_store_and_never_goes_ahead(
    tmp_path: Path,
) -> None:
    message = pb.Segment(live=pb.LiveSource(url="http://x/a", backup_urls=["http://y/b"]))
    message.live.duration.FromSeconds(30)
    segment = convert.segment_from_pb(message)
    assert segment.live == LiveSource(url="http://x/a", backup_urls=("http://y/b",), duration_s=30.0)
    assert convert.segment_to_pb(segment).live == message.live
    with Store(tmp_path / "loa.db") as store:
        store.create_group(validate_group(Group(id="ga", multicast_address="239.8.1.1")))
        spec = BroadcastSpec((segment,), ("ga",), start_time=time.time() + 3600)
        b, _ = store.create_broadcast(validate_broadcast_spec(spec, time.time()))
        stored = store.get_broadcast(b.id)
        assert stored.spec.segments == (segment,)
        assert stored.live and not untouched(stored)  # a live source cannot be rendered ahead
