"""Load and admission control over real gRPC: bounded work, refusals with a retry hint, emergencies always
admitted, deadlines honoured, and the server normal again after the load."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from engine.api import convert
from engine.api.client import Client
from protos.loa.v1 import loa_pb2 as pb
from tests.reliability import load
from tests.reliability.harness import Loa, retry_after_ms

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LIMITS = {
    "LOA_MAX_SYNTHESIS_CALLS": "3",
    "LOA_MAX_WATCH_CALLS": "2",
    "LOA_MAX_QUEUED_NORMAL": "12",
    "LOA_MAX_QUEUED_HIGH": "4",
    "LOA_RETRY_AFTER_MS": "200",
}
RSS_GROWTH_BOUND = 400 * 1024 * 1024  # the server starts near 200 MB; unbounded work would pass this
LONG_TEXT = " ".join(
    f"Thông báo số {i}: ủy ban nhân dân xã họp vào sáng mai tại hội trường." for i in range(800)
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loa]:
    home = tmp_path_factory.mktemp("load")
    loa = Loa(home, home / "state", env=LIMITS).start()
    with loa.client() as client:
        load.setup(client)
    yield loa
    assert loa.alive(), loa.tail()
    loa.stop()


@pytest.fixture
def client(server: Loa) -> Iterator[Client]:
    with server.client() as c:
        yield c
        load.drain(c)


def _unfinished(client: Client, priority: pb.Priority) -> int:
    states = [pb.BROADCAST_STATE_QUEUED, pb.BROADCAST_STATE_SYNTHESIZING, pb.BROADCAST_STATE_ON_AIR]
    found = client.broadcasts.ListBroadcasts(
        pb.ListBroadcastsRequest(states=[*states, pb.BROADCAST_STATE_PREEMPTED], page_size=1000),
        metadata=client.metadata,
    ).broadcasts
    return sum(1 for b in found if b.priority == priority)


def test_ramp_saturates_with_retry_hints_bounded_memory_and_emergencies_admitted(
    server: Loa, client: Client
) -> None:
    report = load.ramp(server, levels=(2, 4, 8, 16), calls_per_client=2, emergencies=2)
    codes = {k.split()[1] for lv in report.levels for k in lv.codes}
    assert codes <= {"OK", "RESOURCE_EXHAUSTED"}, [lv.codes for lv in report.levels]
    assert report.refused("StreamSynthesize") > 0 and report.refused("CreateBroadcast") > 0
    assert sum(lv.count("StreamSynthesize", "OK") for lv in report.levels) > 0
    hints = [h for lv in report.levels for h in lv.hints_ms]
    assert sum(lv.unhinted for lv in report.levels) == 0 and min(hints) >= 200
    assert report.emergencies_admitted == report.emergencies_sent == 2, report.emergency_codes
    assert report.peak_rss - report.base_rss < RSS_GROWTH_BOUND, (report.base_rss, report.peak_rss)
    assert _unfinished(client, pb.PRIORITY_NORMAL) <= 12
    # After the load, once the backlog is cleared, the server serves as before.
    load.drain(client)
    assert server.healthy()
    chunks = list(
        client.synthesis.StreamSynthesize(pb.SynthesizeRequest(text=load.TEXT), metadata=client.metadata)
    )
    assert chunks[-1].last
    ok = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(
            segments=[pb.Segment(language="vi", text=load.BULLETIN)], group_ids=[load.GROUP]
        ),
        metadata=client.metadata,
    )
    assert ok.state == pb.BROADCAST_STATE_QUEUED


def test_full_queues_refuse_their_priority_only_and_never_emergency(client: Client) -> None:
    later = convert.timestamp(time.time() + 3600)

    def create(priority: pb.Priority, key: str = "") -> pb.Broadcast:
        request = pb.CreateBroadcastRequest(
            segments=[pb.Segment(language="vi", text=load.BULLETIN)],
            group_ids=[load.GROUP],
            priority=priority,
            start_time=later,
            idempotency_key=key,
        )
        return client.broadcasts.CreateBroadcast(request, metadata=client.metadata)

    first = create(pb.PRIORITY_NORMAL, key="queue-first")
    for _ in range(11):
        create(pb.PRIORITY_NORMAL)
    with pytest.raises(grpc.RpcError) as full:
        create(pb.PRIORITY_NORMAL)
    assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "max_queued_normal" in (full.value.details() or "")
    assert (retry_after_ms(full.value) or 0) >= 2000  # a queue drains at the pace of airing: 10x the base
    assert create(pb.PRIORITY_NORMAL, key="queue-first").id == first.id  # a retry of a stored request
    for _ in range(4):
        create(pb.PRIORITY_HIGH)
    with pytest.raises(grpc.RpcError) as high_full:
        create(pb.PRIORITY_HIGH)
    assert high_full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    emergencies = [create(pb.PRIORITY_EMERGENCY) for _ in range(20)]
    assert all(e.state == pb.BROADCAST_STATE_QUEUED for e in emergencies)


def test_watch_streams_are_bounded(client: Client) -> None:
    request = pb.CreateBroadcastRequest(
        segments=[pb.Segment(language="vi", text=load.BULLETIN)],
        group_ids=[load.GROUP],
        start_time=convert.timestamp(time.time() + 3600),
    )
    later = client.broadcasts.CreateBroadcast(request, metadata=client.metadata)
    watch = pb.WatchBroadcastRequest(broadcast_id=later.id)
    opened = [client.broadcasts.WatchBroadcast(watch, metadata=client.metadata, timeout=30) for _ in range(2)]
    for stream in opened:
        next(stream)  # the current state: the stream is open and holds its slot
    with pytest.raises(grpc.RpcError) as refused:
        list(client.broadcasts.WatchBroadcast(watch, metadata=client.metadata, timeout=30))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "max_watch_calls" in (refused.value.details() or "") and retry_after_ms(refused.value)
    for stream in opened:
        stream.cancel()
    deadline = time.monotonic() + 5
    while True:  # the slots come back when the streams end
        try:
            next(client.broadcasts.WatchBroadcast(watch, metadata=client.metadata, timeout=30))
            break
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
            time.sleep(0.2)


@pytest.mark.parametrize("method", ["StreamSynthesize", "Synthesize"])
def test_a_passed_deadline_stops_synthesis(server: Loa, client: Client, method: str) -> None:
    """800 sentences take the server minutes of CPU; with a 1 s deadline it must stop within a piece."""
    request = pb.SynthesizeRequest(text=LONG_TEXT)
    before = server.cpu_seconds()
    with pytest.raises(grpc.RpcError) as err:
        call = getattr(client.synthesis, method)(request, metadata=client.metadata, timeout=1.0)
        if method == "StreamSynthesize":
            list(call)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    time.sleep(0.5)
    during = server.cpu_seconds() - before
    settled = server.cpu_seconds()
    time.sleep(2.0)
    after = server.cpu_seconds() - settled
    assert during > 0.3, "the request did not load the server; the check below would prove nothing"
    assert after < 0.3, f"the server kept working {after:.2f} CPU s after the deadline"
    # And its slot is free again: as many calls as the limit (3), each about a second long, run at once.
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def medium() -> None:
        start.wait()
        try:
            list(
                client.synthesis.StreamSynthesize(
                    pb.SynthesizeRequest(text=LONG_TEXT[:3000]), metadata=client.metadata
                )
            )
        except grpc.RpcError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=medium) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
