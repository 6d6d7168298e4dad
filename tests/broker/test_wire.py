"""The broker link's wire formats as data: topics, media bundles, status, play reports, time."""

from __future__ import annotations

import contextlib
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming.broker.bundle import MAX_BUNDLE, MAX_DATAGRAM, MAX_DATAGRAMS, Bundle, Datagram, Kind
from streaming.broker.client import backoff_delay
from streaming.broker.messages import (
    MAX_MESSAGE,
    PlayReport,
    State,
    Status,
    StopReason,
    TimeReply,
    TimeRequest,
)
from streaming.broker.topics import Kind as TopicKind
from streaming.broker.topics import Parsed, Topics

# --- topics


def test_topics_have_the_documented_layout() -> None:
    t = Topics()
    assert t.media("ap-1") == "loa/v1/g/ap-1/media"
    assert t.status("c-7") == "loa/v1/c/c-7/status"
    assert t.report("c-7") == "loa/v1/c/c-7/report"
    assert t.time_request("c-7") == "loa/v1/c/c-7/time/req"
    assert t.time_reply("c-7") == "loa/v1/c/c-7/time/resp"
    assert Topics("hanoi").media("ap-1") == "loa/v1/hanoi/g/ap-1/media"
    assert Topics("hanoi").acl_pattern(TopicKind.STATUS) == "loa/v1/hanoi/c/%u/status"


@pytest.mark.parametrize("bad", ["", "A", "a/b", "+", "#", "a b", "$sys", "x" * 64, "é"])
def test_ids_that_could_widen_a_topic_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Topics().media(bad)
    with pytest.raises(ValueError):
        Topics().status(bad)
    if bad:  # "" is "no prefix"
        with pytest.raises(ValueError):
            Topics(bad)


def test_topics_parse_back_to_kind_and_id() -> None:
    t = Topics("p1")
    assert t.parse(t.media("g")) == Parsed(TopicKind.MEDIA, "g")
    for kind in (TopicKind.STATUS, TopicKind.REPORT, TopicKind.TIME_REQUEST, TopicKind.TIME_REPLY):
        assert t.parse(t.cluster(kind, "c-1")) == Parsed(kind, "c-1")
    for bad in ["loa/v1/g/g/media", "loa/v1/p1/g/G/media", "loa/v1/p1/c/c/other", "loa/v1/p1/c/c/time"]:
        with pytest.raises(ValueError):
            t.parse(bad)


# --- bundles


def _bundle(n: int = 3) -> Bundle:
    return Bundle(tuple(Datagram(Kind.RTP if i % 3 else Kind.RTCP, bytes([i]) * (i + 1)) for i in range(n)))


def test_bundle_round_trips_in_order() -> None:
    b = _bundle(6)
    wire = b.serialize()
    assert wire[:2] == bytes([1, 6])
    assert len(wire) == 2 + sum(3 + len(d.data) for d in b.datagrams)
    assert Bundle.parse(wire) == b


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x01",
        b"\x02\x01\x00\x00\x01x",  # version 2
        b"\x01\x00",  # empty
        b"\x01\x01\x02\x00\x01x",  # kind 2
        b"\x01\x01\x00\x00\x05xy",  # truncated datagram
        b"\x01\x01\x00\x00\x00",  # zero-length datagram
        b"\x01\x01\x00\x00\x01xy",  # trailing byte
        b"\x01\x02\x00\x00\x01x",  # second header missing
    ],
)
def test_bundle_garbage_is_a_value_error(garbage: bytes) -> None:
    with pytest.raises(ValueError):
        Bundle.parse(garbage)


def test_bundle_limits() -> None:
    with pytest.raises(ValueError):
        Datagram(Kind.RTP, b"x" * (MAX_DATAGRAM + 1))
    with pytest.raises(ValueError):
        Bundle(tuple(Datagram(Kind.RTP, b"x") for _ in range(MAX_DATAGRAMS + 1)))
    with pytest.raises(ValueError):
        Bundle.parse(b"\x01\x01" + b"\x00" * MAX_BUNDLE)
    full = Bundle(tuple(Datagram(Kind.RTP, b"x" * MAX_DATAGRAM) for _ in range(MAX_DATAGRAMS)))
    assert len(full.serialize()) == MAX_BUNDLE
    assert Bundle.parse(full.serialize()) == full


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_bundle_parse_raises_only_value_error(payload: bytes) -> None:
    with contextlib.suppress(ValueError):
        Bundle.parse(payload)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(min_size=1, max_size=200)), min_size=1, max_size=20))
def test_bundle_round_trips_anything_valid(items: list[tuple[bool, bytes]]) -> None:
    b = Bundle(tuple(Datagram(Kind.RTCP if r else Kind.RTP, d) for r, d in items))
    assert Bundle.parse(b.serialize()) == b


# --- messages


def test_status_round_trips() -> None:
    s = Status(State.ONLINE, "0.1.0", 3600.5, "4g", "", 41.5)
    assert Status.parse(s.serialize()) == s
    off = Status.offline()
    assert Status.parse(off.serialize()) == off
    assert len(s.serialize()) < 200


def test_play_report_round_trips() -> None:
    r = PlayReport("b-0123abcd", 1, 1_790_000_000.25, 1_790_000_060.5, 2990, 8, 2, StopReason.END)
    assert PlayReport.parse(r.serialize()) == r


def test_time_reply_round_trips_and_estimates_offset() -> None:
    q = TimeRequest.new(100.0)
    assert TimeRequest.parse(q.serialize()) == q
    reply = TimeReply(q.nonce, 100.0, 105.1, 105.2)
    assert TimeReply.parse(reply.serialize()) == reply
    offset, delay = reply.offset_and_delay(100.3)
    assert offset == pytest.approx(5.0)
    assert delay == pytest.approx(0.2)


def _status_json(**change: object) -> bytes:
    base: dict[str, object] = {
        "v": 1,
        "state": "online",
        "version": "1",
        "uptime_s": 1,
        "network": "4g",
        "error": "",
    }
    base.update(change)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xff",
        b"[]",
        b"null",
        _status_json(v=2),
        _status_json(state="sleeping"),
        _status_json(uptime_s=-1),
        _status_json(uptime_s=True),
        _status_json(uptime_s="1"),
        _status_json(network="x" * 17),
        _status_json(error="line\nbreak"),
        _status_json(temperature_c=999),
        _status_json(extra=1),
        _status_json(version=None),
        b'{"v":1,"state":"online","version":"1","uptime_s":NaN,"network":"","error":""}',
        _status_json(error="x" * (MAX_MESSAGE + 1)),
    ],
)
def test_status_garbage_is_a_value_error(payload: bytes) -> None:
    with pytest.raises(ValueError):
        Status.parse(payload)


@pytest.mark.parametrize(
    "change",
    [
        {"bulletin": "a/b"},
        {"bulletin": 7},
        {"airing": -1},
        {"airing": 1.5},
        {"ended_at": 0.0},
        {"played": -3},
        {"stop": "bored"},
    ],
)
def test_play_report_garbage_is_a_value_error(change: dict[str, object]) -> None:
    good = json.loads(PlayReport("b", 0, 10.0, 20.0, 1, 0, 0, StopReason.END).serialize())
    good.update(change)
    with pytest.raises(ValueError):
        PlayReport.parse(json.dumps(good).encode())


def test_time_messages_refuse_bad_nonces() -> None:
    with pytest.raises(ValueError):
        TimeRequest.parse(b'{"v":1,"nonce":"XYZ","t1":1}')
    with pytest.raises(ValueError):
        TimeReply.parse(b'{"v":1,"nonce":"' + b"0" * 32 + b'","t1":1,"t2":2}')


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_message_parsers_raise_only_value_error(payload: bytes) -> None:
    for parse in (Status.parse, PlayReport.parse, TimeRequest.parse, TimeReply.parse):
        with contextlib.suppress(ValueError):
            parse(payload)


# --- reconnect backoff


def test_backoff_grows_jittered_and_capped() -> None:
    rng = random.Random(1)
    delays = [[backoff_delay(a, 1.0, 60.0, rng) for a in range(10)] for _ in range(50)]
    for attempt in range(10):
        cap = min(60.0, 2.0**attempt)
        column = [row[attempt] for row in delays]
        assert all(cap / 2 <= d <= cap for d in column)
        assert len(set(column)) == len(column)  # jittered: no two clusters in lock step
    assert backoff_delay(1000, 1.0, 60.0, rng) <= 60.0
