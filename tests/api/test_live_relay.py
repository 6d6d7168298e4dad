"""A relay through `loa serve` (engine/live/relay.py via engine/api/live_voice.LiveSources): Debian's icecast2
fed by ffmpeg as the upper-level station, in the server's private namespace, and a real speaker.

The station's signal tells the time: a tone whose frequency steps up 50 Hz every half second, so the
speaker's recording says which moment of the source it plays. An EMERGENCY bulletin cuts the relay; when
it resumes, the speaker hears the source at the present: its lag behind the station is the same as before
the cut (a relay resumed "where it was cut" would lag by the length of the cut)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from engine.api import convert
from engine.netns import enter_command
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group, wait_state, watch
from tests.live import stations

pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(not stations.available(), reason="needs icecast2 and ffmpeg"),
]

PORT = 8000
STEP_S = 0.5
BASE_HZ, STEP_HZ = 300.0, 50.0
SIGNAL = f"aevalsrc=0.3*sin(2*PI*({BASE_HZ:.0f}+{STEP_HZ:.0f}*floor(t/{STEP_S}))*t):s=48000"


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    state = tmp_path_factory.mktemp("relay")
    server = Server(state, env={"LOA_LIVE_ALLOWED_HOSTS": "127.0.0.1"}).start()
    assert server.proc is not None
    work = state / "icecast"
    (work / "log").mkdir(parents=True)
    os.chmod(work, 0o777)
    os.chmod(work / "log", 0o777)
    config = work / "icecast.xml"
    config.write_text(stations.CONFIG.format(password=stations.PASSWORD, port=PORT, logdir=work / "log"))
    os.chmod(config, 0o644)
    for parent in (state, *state.parents):  # uid 65534 must reach the config
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
    # icecast2 refuses to run as root: as nobody, in the server's network namespace
    ice = subprocess.Popen(
        enter_command(
            server.proc.pid,
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "icecast2", "-c", str(config)],
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    source = None
    try:
        out = f"icecast://source:{stations.PASSWORD}@127.0.0.1:{PORT}/live.mp3"
        argv = [*stations.FFMPEG, "-re", "-f", "lavfi", "-i", f"{SIGNAL}:d=60", "-ac", "1"]
        argv += ["-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg", "-f", "mp3", out]
        time.sleep(0.5)
        source = subprocess.Popen(enter_command(server.proc.pid, argv), stdin=subprocess.DEVNULL)
        time.sleep(1.0)
        yield server, f"http://127.0.0.1:{PORT}/live.mp3"
    finally:
        for proc in (source, ice):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(5)
        server.stop()


def source_second(window: np.ndarray, rate: int) -> float | None:
    """Which half-second of the station's signal a 100 ms window is, by its tone; None if not the tone."""
    spectrum = np.abs(np.fft.rfft(window * np.hanning(window.size)))
    peak = float(np.argmax(spectrum)) * rate / window.size
    if spectrum.max() < 1.0 or peak < BASE_HZ - 20:
        return None
    return round((peak - BASE_HZ) / STEP_HZ) * STEP_S


def lags(audio: np.ndarray, first_wall: float, rate: int, since: float, until: float) -> list[float]:
    """The speaker's wall time minus the source time it plays, per window in [since, until)."""
    n = rate // 10
    out = []
    for i in range(0, audio.size - n, n):
        wall = first_wall + i / rate
        if since <= wall < until:
            second = source_second(audio[i : i + n], rate)
            if second is not None:
                out.append(wall - second)
    return out


def test_an_emergency_cuts_a_relay_which_rejoins_the_station_at_the_present(
    station: tuple[Server, str],
) -> None:
    server, url = station
    client = server.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("relay", "239.192.51.1", playout_delay=convert.duration(0.3))),
        metadata=client.metadata,
    )
    speaker = server.speaker("relay-0", ["239.192.51.1:5004:normal:300"])
    live = pb.LiveSource(url=url, duration=convert.duration(9.0))
    relay = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(group_ids=["relay"], segments=[pb.Segment(live=live)], title="VOV1"),
        metadata=client.metadata,
    )
    wait_state(client, relay.id, {pb.BROADCAST_STATE_ON_AIR}, timeout=20)
    time.sleep(3.0)
    urgent = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(
            group_ids=["relay"],
            priority=pb.PRIORITY_EMERGENCY,
            segments=[pb.Segment(language="vi", text="Khẩn cấp: lũ đang lên, bà con sơ tán ngay.")],
        ),
        metadata=client.metadata,
    )
    assert watch(client, urgent.id)[-1].type == pb.EVENT_TYPE_FINISHED
    assert watch(client, relay.id, timeout=30)[-1].type == pb.EVENT_TYPE_FINISHED
    done = client.broadcasts.GetBroadcast(
        pb.GetBroadcastRequest(broadcast_id=relay.id), metadata=client.metadata
    )
    time.sleep(0.5)
    speaker.stop()
    (cut,) = [c for c in done.interruptions if c.by_broadcast_id]
    assert cut.resume_mode == pb.RESUME_MODE_LIVE
    cut_at, resumed_at = convert.seconds_of(cut.start_time), convert.seconds_of(cut.end_time)
    assert resumed_at - cut_at > 1.5  # long enough that resuming "where it was cut" would show
    # about the duration, the cut not counted (a resume may air up to 1 s + the delay + 60 ms more than
    # what was left: live_segment.py MARK_EVERY_S; measured 10.43 s)
    assert 8.8 < done.progress.aired.ToNanoseconds() / 1e9 < 11.0
    audio, meta = speaker.recording()
    wall0, rate = meta["first_sample_wall"], meta["sample_rate"]
    before = lags(audio, wall0, rate, 0.0, cut_at)
    after = lags(audio, wall0, rate, resumed_at + 2.0, float("inf"))
    assert len(before) > 10 and len(after) > 10, (len(before), len(after))
    shift = float(np.median(after) - np.median(before))
    # the same lag behind the station before and after (within a step and the buffers' jitter)
    assert abs(shift) < 0.75, (shift, resumed_at - cut_at)


def test_a_relay_the_policy_refuses_is_invalid_argument_naming_the_field(station: tuple[Server, str]) -> None:
    server, url = station
    client = server.client()

    def create(live: pb.LiveSource) -> tuple[grpc.StatusCode, str]:
        request = pb.CreateBroadcastRequest(group_ids=["relay"], segments=[pb.Segment(live=live)])
        with pytest.raises(grpc.RpcError) as err:
            client.broadcasts.CreateBroadcast(request, metadata=client.metadata)
        return err.value.code(), err.value.details() or ""

    hour = convert.duration(3600)
    for live, field in (
        (pb.LiveSource(url="file:///etc/passwd", duration=hour), "segments[0].live.url"),
        (pb.LiveSource(url="http://192.168.1.10/a.mp3", duration=hour), "segments[0].live.url"),
        (
            pb.LiveSource(url=url, backup_urls=["http://[::1]:8000/b"], duration=hour),
            "segments[0].live.backup_urls[0]",
        ),
        (pb.LiveSource(url=url), "segments[0].live.duration"),  # an endless stream
        (pb.LiveSource(url=url, duration=convert.duration(7 * 3600)), "segments[0].live.duration"),
    ):
        code, message = create(live)
        assert (code, message.split(": ")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, field), message
