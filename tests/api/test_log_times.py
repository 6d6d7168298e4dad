"""The broadcast log (nhật ký phát) tells the times speakers heard: a real server and a real speaker in one
private namespace that outlives the server, so the server can be killed and restarted under the speaker.

What the speaker recorded is the judge: each frame it played carries the stream's SSRC, priority and the
output sample it played at (its sidecar), so a broadcast's first sample, the silence a cut left, and how
much of it was played come from the recording, and the log and GetBroadcast must say the same.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine.api import convert
from engine.jobs.log import export_log
from engine.jobs.store import Store
from engine.netns import command
from protos.loa.v1 import loa_pb2 as pb
from streaming.priority import Priority
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES
from tests.api.harness import Server, Speaker, group, wait_state, watch

pytestmark = [pytest.mark.netns, pytest.mark.slow]

DELAY_MS = 300
BULLETIN = (
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng. Đề nghị các gia đình đưa con em đến trạm y tế. "
    "Khi đi mang theo sổ tiêm chủng."
)
FRAME_S = FRAME_SAMPLES / CLOCK_RATE


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    holder = subprocess.Popen(command(["sleep", "600"]))
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{holder.pid}/cmdline").read_bytes().startswith(b"sleep"):
            assert time.monotonic() < deadline, "the namespace did not come up"
            time.sleep(0.02)
        srv = Server(tmp_path_factory.mktemp("log-times"), netns_pid=holder.pid).start()
        yield srv
        srv.stop()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def _create(
    server: Server, group_id: str, text: str, priority: pb.Priority = pb.PRIORITY_NORMAL
) -> pb.Broadcast:
    client = server.client()
    request = pb.CreateBroadcastRequest(
        segments=[pb.Segment(language="vi", text=text)], group_ids=[group_id], priority=priority
    )
    return client.broadcasts.CreateBroadcast(request, metadata=client.metadata)


def _listen(server: Server, group_id: str, address: str) -> Speaker:
    client = server.client()
    made = group(group_id, address, playout_delay=convert.duration(DELAY_MS / 1000))
    client.groups.CreateGroup(pb.CreateGroupRequest(group=made), metadata=client.metadata)
    return server.speaker(group_id, [f"{address}:5004:normal:{DELAY_MS}"])


def _heard(speaker: Speaker, priority: Priority) -> list[tuple[float, float, int]]:
    """(first sample's wall time, end of the last frame's, frames played) of each stream of ``priority``
    the speaker played, in order: its own audio (a packet, or FEC: the next packet's copy), not the
    concealment a speaker plays for a few frames when a stream stops without a BYE (the server died),
    nor the silence after."""
    _, meta = speaker.recording()
    spans: dict[int, list[float]] = {}
    for ssrc, _rtp, index, kind, prio in meta["frames"]:
        if prio == int(priority) and kind in ("packet", "fec"):
            at = index / CLOCK_RATE  # output sample i plays at local time i / 48000 (playout.py)
            first, last, n = spans.get(ssrc, [at, at, 0])
            spans[ssrc] = [min(first, at), max(last, at), n + 1]
    return sorted((first, last + FRAME_S, int(n)) for first, last, n in spans.values())


def _seconds(t: Any) -> float:
    return float(t.ToNanoseconds()) / 1e9


def _logged(server: Server, broadcast_id: str) -> dict[str, Any]:
    """The broadcast's entry in the JSON log, read from the store beside the running server."""
    import json

    with Store(server.state / "loa.db", recover=False) as store:
        doc = json.loads(export_log(store, time.time() - 3600, fmt="json"))
    return next(e for e in doc["broadcasts"] if e["broadcast_id"] == broadcast_id)


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _check_log_matches(entry: dict[str, Any], b: pb.Broadcast) -> None:
    """The log export and GetBroadcast tell the same times."""
    assert abs(_t(entry["air_time"]) - _seconds(b.air_time)) < 0.002
    assert abs(_t(entry["end_time"]) - _seconds(b.end_time)) < 0.002
    assert abs(entry["aired_seconds"] - convert.seconds_of(b.progress.aired)) < 0.002
    assert abs(entry["wall_seconds"] - (_seconds(b.end_time) - _seconds(b.air_time))) < 0.002
    assert len(entry["interruptions"]) == len(b.interruptions)
    for logged, cut in zip(entry["interruptions"], b.interruptions, strict=True):
        assert abs(_t(logged["start_time"]) - _seconds(cut.start_time)) < 0.002
        assert abs(_t(logged["end_time"]) - _seconds(cut.end_time)) < 0.002


def test_a_preempted_bulletin_is_logged_as_the_speaker_heard_it(server: Server) -> None:
    speaker = _listen(server, "log-preempt", "239.192.91.1")
    client = server.client()
    normal = _create(server, "log-preempt", BULLETIN)
    wait_state(client, normal.id, {pb.BROADCAST_STATE_ON_AIR})
    time.sleep(1.2)
    emergency = _create(server, "log-preempt", "Khẩn cấp.", pb.PRIORITY_EMERGENCY)
    assert watch(client, normal.id)[-1].type == pb.EVENT_TYPE_FINISHED
    time.sleep(DELAY_MS / 1000 + 0.3)  # the last packets play one playout delay after they are sent
    speaker.stop()
    heard = _heard(speaker, Priority.NORMAL)
    assert len(heard) == 2, heard  # before the emergency, and the resume
    b = client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=normal.id))
    (cut,) = b.interruptions
    assert cut.by_broadcast_id == emergency.id
    played_s = sum(n for _, _, n in heard) * FRAME_S
    figures = {
        "air_time": _seconds(b.air_time) - heard[0][0],
        "cut_start": _seconds(cut.start_time) - heard[0][1],
        "cut_end": _seconds(cut.end_time) - heard[1][0],
        "end_time": _seconds(b.end_time) - heard[1][1],
        "aired": convert.seconds_of(b.progress.aired) - played_s,
    }
    print(f"logged minus heard, seconds: {figures}; played {played_s:.2f} s")
    assert abs(figures["air_time"]) < 0.03, figures
    assert abs(figures["cut_start"]) < 0.03, figures
    assert abs(figures["cut_end"]) < 0.03, figures
    assert abs(figures["end_time"]) < 0.06, figures  # the stream's last frame is padding, not its own sound
    assert abs(figures["aired"]) < 0.06, figures
    _check_log_matches(_logged(server, normal.id), b)


def test_a_bulletin_cancelled_on_air_ends_when_the_speaker_went_silent(server: Server) -> None:
    speaker = _listen(server, "log-cancel", "239.192.91.3")
    client = server.client()
    bulletin = _create(server, "log-cancel", BULLETIN)
    wait_state(client, bulletin.id, {pb.BROADCAST_STATE_ON_AIR})
    time.sleep(1.0)
    client.broadcasts.CancelBroadcast(pb.CancelBroadcastRequest(broadcast_id=bulletin.id))
    time.sleep(DELAY_MS / 1000 + 0.5)  # what was sent plays out; the airing thread records it
    speaker.stop()
    (heard,) = _heard(speaker, Priority.NORMAL)
    b = client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=bulletin.id))
    assert b.state == pb.BROADCAST_STATE_CANCELLED
    print(f"cancelled: end_time {_seconds(b.end_time) - heard[1]:+.3f} s from the last sample heard")
    assert abs(_seconds(b.end_time) - heard[1]) < 0.03
    assert abs(_seconds(b.air_time) - heard[0]) < 0.03
    _check_log_matches(_logged(server, bulletin.id), b)


def test_a_server_killed_mid_bulletin_logs_the_silence_speakers_heard(server: Server) -> None:
    speaker = _listen(server, "log-kill", "239.192.91.2")
    client = server.client()
    bulletin = _create(server, "log-kill", BULLETIN)
    wait_state(client, bulletin.id, {pb.BROADCAST_STATE_ON_AIR})
    time.sleep(1.5)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGKILL)  # no goodbye: the speaker plays what it has, then silence
    server.proc.wait(30)
    server.start()
    client = server.client()
    assert watch(client, bulletin.id)[-1].type == pb.EVENT_TYPE_FINISHED
    time.sleep(DELAY_MS / 1000 + 0.3)
    speaker.stop()
    heard = _heard(speaker, Priority.NORMAL)
    assert len(heard) == 2, heard  # before the kill, and the resume
    b = client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=bulletin.id))
    (cut,) = b.interruptions
    assert cut.reason == "server restart"
    silence = heard[1][0] - heard[0][1]
    logged = _seconds(cut.end_time) - _seconds(cut.start_time)
    start_off, end_off = _seconds(cut.start_time) - heard[0][1], _seconds(cut.end_time) - heard[1][0]
    print(f"silence heard {silence:.3f} s, logged {logged:.3f} s; start {start_off:+.3f}, end {end_off:+.3f}")
    assert silence > 0.3  # the restart took a while: there is a silence to measure
    assert abs(logged - silence) < 0.1
    assert abs(_seconds(cut.start_time) - heard[0][1]) < 0.1
    assert abs(_seconds(cut.end_time) - heard[1][0]) < 0.05
    assert abs(_seconds(b.air_time) - heard[0][0]) < 0.03
    played_s = sum(n for _, _, n in heard) * FRAME_S
    assert abs(convert.seconds_of(b.progress.aired) - played_s) < 0.1
    _check_log_matches(_logged(server, bulletin.id), b)
