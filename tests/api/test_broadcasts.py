"""Broadcasts end to end: a real server and real speakers in a private namespace, over real gRPC.

Each test uses its own groups (addresses), so they share one server.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from engine.api import convert
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group, wait_state, watch

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SHORT_VI = "Thông báo: ngày 2/9 nghỉ lễ."
LONG_VI = (
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng mở rộng cho trẻ em trong tháng này. "
    "Đề nghị các gia đình đưa con em đến trạm y tế đúng giờ. "
    "Khi đi mang theo sổ tiêm chủng và đeo khẩu trang. "
    "Mọi thắc mắc xin liên hệ trạm y tế xã để được giải đáp."
)
FINISHED = pb.BROADCAST_STATE_FINISHED


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("server")).start()
    yield srv
    srv.stop()


def _create(server: Server, **kw: Any) -> pb.Broadcast:
    client = server.client()
    return client.broadcasts.CreateBroadcast(pb.CreateBroadcastRequest(**kw), metadata=client.metadata)


def _segments(text: str) -> list[pb.Segment]:
    return [pb.Segment(language="vi", text=text)]


def _add_group(server: Server, group_id: str, address: str, **kw: Any) -> None:
    client = server.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group(group_id, address, **kw)), metadata=client.metadata
    )


def test_bulletin_plays_on_every_speaker_in_sync(server: Server) -> None:
    _add_group(server, "sync", "239.192.21.1", playout_delay=convert.duration(0.3))
    speakers = [server.speaker(f"sync-{i}", ["239.192.21.1:5004:normal:300"]) for i in range(3)]
    broadcast = _create(server, group_ids=["sync"], segments=_segments(SHORT_VI))
    events = watch(server.client(), broadcast.id)
    kinds = [e.type for e in events]
    assert kinds[-1] == pb.EVENT_TYPE_FINISHED
    assert pb.EVENT_TYPE_ON_AIR in kinds
    assert kinds.index(pb.EVENT_TYPE_ON_AIR) < kinds.index(pb.EVENT_TYPE_FINISHED)
    time.sleep(0.6)  # the last packets play one playout delay after they are sent
    for speaker in speakers:
        speaker.stop()
    onsets = [s.first_sound_wall() for s in speakers]
    assert max(onsets) - min(onsets) < 0.001
    # The same audio everywhere: from each speaker's first sound on, the samples match.
    clips = []
    for speaker in speakers:
        audio, _ = speaker.recording()
        start = int(np.flatnonzero(np.abs(audio) > 0.02)[0])
        clips.append(audio[start : start + 48_000])
    for clip in clips[1:]:
        assert np.abs(clip - clips[0]).max() < 1e-3
    aired = server.client().broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=broadcast.id))
    assert aired.state == FINISHED
    assert aired.progress.aired.ToNanoseconds() > 1e9


def test_scheduled_start_plays_on_time(server: Server) -> None:
    _add_group(server, "sched", "239.192.22.1", playout_delay=convert.duration(0.3))
    speaker = server.speaker("sched-0", ["239.192.22.1:5004:normal:300"])
    start = time.time() + 4.0
    broadcast = _create(
        server,
        group_ids=["sched"],
        segments=_segments("Xin chào bà con."),
        start_time=convert.timestamp(start),
    )
    assert broadcast.state == pb.BROADCAST_STATE_QUEUED
    events = watch(server.client(), broadcast.id)
    assert events[-1].type == pb.EVENT_TYPE_FINISHED
    aired = server.client().broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=broadcast.id))
    assert abs(convert.seconds_of(aired.air_time) - start) < 0.05
    time.sleep(0.5)
    speaker.stop()
    # What a resident hears: the first sound within 50 ms of the start time (voices begin with a few ms
    # of silence of their own).
    assert 0 <= speaker.first_sound_wall() - start < 0.05


def test_repeat_airs_twice(server: Server) -> None:
    _add_group(server, "rep", "239.192.23.1", playout_delay=convert.duration(0.2))
    broadcast = _create(
        server,
        group_ids=["rep"],
        segments=_segments("Xin chào."),
        repeat_count=2,
        repeat_gap=convert.duration(0.3),
    )
    events = watch(server.client(), broadcast.id)
    assert events[-1].type == pb.EVENT_TYPE_FINISHED
    assert {e.progress.repeat_index for e in events} >= {0, 1}
    single = _create(server, group_ids=["rep"], segments=_segments("Xin chào."))
    watch(server.client(), single.id)
    get = server.client().broadcasts.GetBroadcast
    twice = get(pb.GetBroadcastRequest(broadcast_id=broadcast.id)).progress.aired.ToNanoseconds()
    once = get(pb.GetBroadcastRequest(broadcast_id=single.id)).progress.aired.ToNanoseconds()
    assert twice == pytest.approx(2 * once, rel=0.1)


def test_cancel_mid_air_stops_the_speakers(server: Server) -> None:
    _add_group(server, "cancel", "239.192.24.1", playout_delay=convert.duration(0.2))
    speaker = server.speaker("cancel-0", ["239.192.24.1:5004:normal:200"])
    client = server.client()
    broadcast = _create(server, group_ids=["cancel"], segments=_segments(LONG_VI))
    on_air = wait_state(client, broadcast.id, {pb.BROADCAST_STATE_ON_AIR})
    assert on_air.state == pb.BROADCAST_STATE_ON_AIR
    time.sleep(1.0)
    cancelled_at = time.time()
    reply = client.broadcasts.CancelBroadcast(
        pb.CancelBroadcastRequest(broadcast_id=broadcast.id, reason="test")
    )
    assert reply.state == pb.BROADCAST_STATE_CANCELLED
    time.sleep(1.5)
    speaker.stop()
    audio, meta = speaker.recording()
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    last_sound = meta["first_sample_wall"] + loud[-1] / 48_000
    assert last_sound < cancelled_at + 0.2 + 0.3  # playout delay + a little
    assert client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=broadcast.id)).state == (
        pb.BROADCAST_STATE_CANCELLED
    )


def test_idempotency_key_never_airs_twice(server: Server) -> None:
    _add_group(server, "idem", "239.192.25.1")
    request = {"group_ids": ["idem"], "segments": _segments("Xin chào."), "idempotency_key": "bulletin-42"}
    first = _create(server, **request)
    again = _create(server, **request)
    assert again.id == first.id
    listed = server.client().broadcasts.ListBroadcasts(pb.ListBroadcastsRequest(group_id="idem"))
    assert [b.id for b in listed.broadcasts] == [first.id]
    with pytest.raises(grpc.RpcError) as err:
        _create(
            server, group_ids=["idem"], segments=_segments("Một bản tin khác."), idempotency_key="bulletin-42"
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_emergency_preempts_normal_which_resumes(server: Server) -> None:
    _add_group(server, "shared", "239.192.26.1", playout_delay=convert.duration(0.2))
    speaker = server.speaker("shared-0", ["239.192.26.1:5004:normal:200"])
    client = server.client()
    normal = _create(server, group_ids=["shared"], segments=_segments(LONG_VI))
    wait_state(client, normal.id, {pb.BROADCAST_STATE_ON_AIR})
    time.sleep(0.5)
    emergency = _create(
        server,
        group_ids=["shared"],
        priority=pb.PRIORITY_EMERGENCY,
        segments=_segments("Khẩn cấp: lũ đang lên."),
    )
    held = wait_state(client, normal.id, {pb.BROADCAST_STATE_PREEMPTED})
    assert held.state == pb.BROADCAST_STATE_PREEMPTED
    assert watch(client, emergency.id)[-1].type == pb.EVENT_TYPE_FINISHED
    events = watch(client, normal.id)
    assert events[-1].type == pb.EVENT_TYPE_FINISHED
    done = client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=normal.id))
    assert len(done.interruptions) == 1
    cut = done.interruptions[0]
    assert cut.by_broadcast_id == emergency.id
    assert cut.by_priority == pb.PRIORITY_EMERGENCY
    assert cut.resume_mode == pb.RESUME_MODE_FROM_SENTENCE
    speaker.stop()


def test_restart_keeps_queued_and_scheduled_and_resumes_the_interrupted(tmp_path: Path) -> None:
    server = Server(tmp_path).start()
    try:
        _add_group(server, "r", "239.192.27.1", playout_delay=convert.duration(0.2))
        on_air = _create(server, group_ids=["r"], segments=_segments(LONG_VI))
        later = _create(
            server,
            group_ids=["r"],
            segments=_segments("Họp tổ dân phố."),
            start_time=convert.timestamp(time.time() + 3600),
        )
        wait_state(server.client(), on_air.id, {pb.BROADCAST_STATE_ON_AIR})
        time.sleep(0.5)
        server.stop(kill=True)  # a crash: no graceful shutdown
        server.start()
        client = server.client()
        kept = client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=later.id))
        assert kept.state == pb.BROADCAST_STATE_QUEUED
        assert convert.seconds_of(kept.start_time) == pytest.approx(convert.seconds_of(later.start_time))
        assert watch(client, on_air.id)[-1].type == pb.EVENT_TYPE_FINISHED
        resumed = client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=on_air.id))
        assert [c.reason for c in resumed.interruptions] == ["server restart"]
        assert resumed.interruptions[0].resume_mode == pb.RESUME_MODE_FROM_SENTENCE
    finally:
        server.stop()


def test_speakers_and_metrics_are_reported(server: Server) -> None:
    _add_group(server, "obs", "239.192.28.1", playout_delay=convert.duration(0.2))
    speaker = server.speaker("obs-0@ap-1", ["239.192.28.1:5004:normal:200"])
    broadcast = _create(server, group_ids=["obs"], segments=_segments(SHORT_VI))
    watch(server.client(), broadcast.id)
    time.sleep(1.5)  # receiver reports are sent about every second
    heard = server.client().groups.ListSpeakers(pb.ListSpeakersRequest(group_id="obs")).speakers
    assert [s.cname for s in heard] == ["obs-0@ap-1"]
    assert heard[0].online and heard[0].group_id == "obs"
    speaker.stop()
    page = server.metrics()
    for name in (
        "loa_rpc_total",
        "loa_request_to_first_packet_seconds_count",
        "loa_tts_first_audio_seconds_count",
        "loa_queue_depth",
        "loa_broadcasts_total",
        'loa_speakers_online{group="obs"} 1.0',
        'loa_speaker_loss_ratio{group="obs"}',
    ):
        assert name in page
    if shutil.which("promtool"):
        lint = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
