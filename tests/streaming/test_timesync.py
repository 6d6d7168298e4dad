"""Both halves of time sync as data: a request, the sender's answer, and the offset the speaker learns."""

from __future__ import annotations

import time

import pytest

from streaming import rtcp
from streaming.clock import SimulatedClock
from streaming.timesync import FAST_INTERVAL, TimeSyncClient, answer


def test_the_speaker_learns_the_sender_clock_from_its_answers() -> None:
    clock = SimulatedClock(offset=-0.25)  # the speaker runs 250 ms behind the sender
    client = TimeSyncClient(ssrc=5, clock=clock)
    request = client.request(now=100.0)
    assert request is not None
    assert client.request(now=100.0 + FAST_INTERVAL / 2) is None  # not due yet
    assert client.request(now=100.0 + FAST_INTERVAL) is not None
    [asked] = rtcp.parse_compound(request)
    received = time.time()
    reply = answer(asked, received, received)
    assert reply is not None
    [answered] = rtcp.parse_compound(reply)
    assert answer(answered, received, received) is None  # a reply is not a request
    assert not client.estimator.ready
    assert client.on_packet(answered, clock.now())
    assert not client.on_packet(asked, clock.now())  # a request is not a reply
    assert client.estimator.offset == pytest.approx(0.25, abs=0.005)
