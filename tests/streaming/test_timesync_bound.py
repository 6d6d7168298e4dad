"""The speaker half of time sync as data: its schedule, reply matching on RTCP, and the offset-jump bound
that keeps one forged or badly delayed reply from moving a settled clock (security issue #12)."""

from __future__ import annotations

import pytest

from streaming import rtcp
from streaming.clock import SimulatedClock, ntp_from_wall
from streaming.timesync import (
    BROKER_SCHEDULE,
    OffsetEstimator,
    Schedule,
    SyncSample,
    TimeSyncClient,
    answer,
)


def settled(offset: float = 0.2, n: int = 9) -> OffsetEstimator:
    e = OffsetEstimator(9, jump_bound=0.5, jump_confirm=3)
    for i in range(n):
        assert e.add(SyncSample(offset + i * 1e-5, 0.01))
    return e


def test_a_single_far_sample_is_counted_and_ignored_once_settled() -> None:
    e = settled()
    before = e.offset
    assert not e.add(SyncSample(5.2, 0.01))  # a forged reply: five seconds off
    assert e.offset == before
    assert e.jumps_ignored == 1 and e.steps == 0
    assert e.add(SyncSample(0.2001, 0.01))  # the next genuine one is taken, and ends the run of outliers
    assert e.pending_outliers == 0


def test_outliers_that_disagree_with_each_other_never_make_a_step() -> None:
    e = settled()
    before = e.offset
    for offset in (3.0, -4.0, 9.0, 3.0, -4.0, 9.0):
        assert not e.add(SyncSample(offset, 0.01))
    assert e.offset == before and e.steps == 0 and e.jumps_ignored == 6


def test_consecutive_agreeing_samples_are_a_real_clock_step() -> None:
    e = settled(0.2)
    assert not e.add(SyncSample(-1.8, 0.01))
    assert not e.add(SyncSample(-1.8002, 0.012))
    assert e.offset == pytest.approx(0.2, abs=1e-3)
    assert e.add(SyncSample(-1.7999, 0.011))  # the third agrees: the local clock was set 2 s forward
    assert e.offset == pytest.approx(-1.8, abs=1e-3)
    assert e.steps == 1 and e.jumps_ignored == 2
    assert e.add(SyncSample(-1.8001, 0.01))  # and samples near the new offset are taken at once


def test_before_settling_any_offset_is_taken_and_the_bound_is_configurable() -> None:
    e = OffsetEstimator(9, jump_bound=0.5)
    assert e.add(SyncSample(10.0, 0.01))  # the first samples: the speaker's clock may be anywhere
    assert e.offset == 10.0
    tight = OffsetEstimator(3, jump_bound=0.002, jump_confirm=2)
    for _ in range(3):
        tight.add(SyncSample(0.0, 0.01))
    assert not tight.add(SyncSample(0.005, 0.01))
    assert tight.jumps_ignored == 1
    with pytest.raises(ValueError):
        OffsetEstimator(9, jump_bound=0)
    with pytest.raises(ValueError):
        OffsetEstimator(9, jump_confirm=0)


def test_an_impossible_round_trip_is_counted_not_taken() -> None:
    e = OffsetEstimator()
    assert not e.add(SyncSample(0.1, -0.01))
    assert e.impossible == 1 and not e.ready


def test_the_schedule_is_fast_at_first_then_slow_and_the_client_takes_four_timestamps() -> None:
    client = TimeSyncClient(SimulatedClock(), schedule=Schedule(0.1, 3, 2.0))
    due = [t for t in (x / 100 for x in range(0, 800, 5)) if client.due(100 + t)]
    assert due[:4] == [0.0, 0.1, 0.2, 2.2]
    assert BROKER_SCHEDULE.slow_interval > BROKER_SCHEDULE.fast_interval
    assert client.offset is None
    assert client.add(10.0, 10.3, 10.3, 10.0)  # t1, t2, t3, t4: the server is 300 ms ahead
    assert client.offset == pytest.approx(0.3)
    assert client.samples == 1


def test_an_rtcp_reply_counts_once_and_only_for_a_request_this_client_sent() -> None:
    clock = SimulatedClock(offset=-0.25)
    client = TimeSyncClient(clock, ssrc=5)
    request = client.request(now=100.0)
    assert request is not None
    [asked] = rtcp.parse_compound(request)
    received = clock.now() + 0.25
    [reply] = rtcp.parse_compound(answer(asked, received, received) or b"")
    forged = rtcp.time_reply(
        0, ntp_from_wall(clock.now() - 1), ntp_from_wall(received), ntp_from_wall(received)
    )
    assert not client.on_packet(forged, clock.now())  # echoes a t1 never sent
    assert client.on_packet(reply, clock.now())
    assert not client.on_packet(reply, clock.now())  # the same reply again: a replay
    assert client.unmatched == 2 and client.samples == 1
    assert client.offset == pytest.approx(0.25, abs=0.005)
