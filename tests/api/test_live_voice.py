"""Live voice end to end (engine/api/live_voice.py, engine/live/voice.py): a real server (auth on) and
real speakers in a private namespace; a test client streams a WAV as a microphone would (20 ms chunks,
paced in real time) over AirLiveVoice.

One server for the module; each test has its own group."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
import soundfile as sf

from engine.api import convert
from engine.api.audit import AuditLog
from engine.api.tokens import Role, TokenStore
from engine.tts.audio import resample
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group, wait_state, watch

pytestmark = [pytest.mark.netns, pytest.mark.slow]

RATE = 16_000
CHUNK_S = 0.02
LONG_VI = (
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng mở rộng cho trẻ em trong tháng này. "
    "Đề nghị các gia đình đưa con em đến trạm y tế đúng giờ."
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("voice"), auth=True).start()
    yield srv
    srv.stop()


def microphone_wav(path: Path, seconds: float) -> np.ndarray:
    """Speech-like test audio (a gliding tone, syllable-rate loudness, a little noise) saved as a WAV."""
    t = np.arange(round(seconds * RATE)) / RATE
    rng = np.random.default_rng(7)
    tone = np.sin(2 * np.pi * (300 * t + 150 * np.sin(2 * np.pi * 0.7 * t)))
    envelope = 0.25 + 0.2 * np.sin(2 * np.pi * 4 * t) ** 2
    audio = (envelope * tone + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    sf.write(path, audio, RATE, subtype="PCM_16")
    return sf.read(path, dtype="float32")[0]


def header(
    group_id: str, priority: pb.Priority = pb.PRIORITY_NORMAL, rate: int = RATE
) -> pb.LiveVoiceRequest:
    return pb.LiveVoiceRequest(
        header=pb.LiveVoiceHeader(
            group_ids=[group_id],
            priority=priority,
            title="Loa xã",
            format=pb.LIVE_AUDIO_FORMAT_PCM_S16LE,
            sample_rate=rate,
            max_duration=convert.duration(60),
        )
    )


def chunks(
    audio: np.ndarray, sent: list[float] | None = None, stop_after_s: float | None = None
) -> Iterator[bytes]:
    """20 ms s16le chunks, each when the wall clock reaches it (as from a microphone)."""
    n = round(CHUNK_S * RATE)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    t0 = time.time()
    for k, i in enumerate(range(0, pcm.size, n)):
        if stop_after_s is not None and k * CHUNK_S >= stop_after_s:
            return
        time.sleep(max(0.0, t0 + k * CHUNK_S - time.time()))
        if sent is not None:
            sent.append(time.time())
        yield pcm[i : i + n].tobytes()


def voice(hdr: pb.LiveVoiceRequest, audio_chunks: Iterator[bytes]) -> Iterator[pb.LiveVoiceRequest]:
    yield hdr
    for c in audio_chunks:
        yield pb.LiveVoiceRequest(audio=c)


def add_group(server: Server, group_id: str, address: str, delay_s: float) -> None:
    client = server.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group(group_id, address, playout_delay=convert.duration(delay_s))),
        metadata=client.metadata,
    )


def event_messages(server: Server, broadcast_id: str) -> list[str]:
    """The broadcast's history as the server stored it (WatchBroadcast of an ended one gives its last)."""
    with sqlite3.connect(f"file:{server.state}/loa.db?mode=ro", uri=True) as db:
        rows = db.execute("SELECT message FROM events WHERE broadcast_id = ? ORDER BY seq", (broadcast_id,))
        return [m for (m,) in rows]


def refused(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()  # type: ignore[operator]
    return err.value.code(), err.value.details() or ""


def test_a_live_voice_plays_on_every_speaker_in_sync_and_matches_the_microphone(server: Server) -> None:
    add_group(server, "mic", "239.192.41.1", 0.3)
    speakers = [server.speaker(f"mic-{i}", ["239.192.41.1:5004:normal:300"]) for i in range(2)]
    source = microphone_wav(server.state / "mic.wav", 2.0)
    client = server.client()
    sent: list[float] = []
    reply = client.broadcasts.AirLiveVoice(
        voice(header("mic"), chunks(source, sent)), metadata=client.metadata
    )
    assert reply.state == pb.BROADCAST_STATE_FINISHED, reply.failure_reason
    assert reply.segments[0].live.live_voice and reply.created_by.role == "admin"
    assert 1.9 < reply.progress.aired.ToNanoseconds() / 1e9 < 2.3
    time.sleep(0.5)
    for s in speakers:
        s.stop()
    onsets = [s.first_sound_wall() for s in speakers]
    assert max(onsets) - min(onsets) < 0.001  # in sync
    latency = onsets[0] - sent[0]  # microphone chunk in → sound at the speakers
    assert 0.3 <= latency < 0.3 + 0.25, latency
    # what the speakers played is the microphone's audio
    reference = resample(source, RATE)
    audio, _ = speakers[0].recording()
    start = int(np.flatnonzero(np.abs(audio) > 0.02)[0])
    heard = audio[start : start + reference.size - 4800]
    corr = np.correlate(reference[: heard.size + 2400], heard, mode="valid")
    lag = int(np.argmax(corr))
    aligned = reference[lag : lag + heard.size]
    r = float(np.corrcoef(heard, aligned)[0, 1])
    assert r > 0.8, (r, lag)  # Opus at 32 kbit/s on a gliding tone in noise: ~0.85
    assert "live source ended: client ended" in event_messages(server, reply.id)


def test_a_client_that_disappears_mid_stream_ends_the_airing(server: Server) -> None:
    add_group(server, "gone", "239.192.42.1", 0.2)
    client = server.client()
    source = microphone_wav(server.state / "gone.wav", 3.0)
    call = client.broadcasts.AirLiveVoice.future(
        voice(header("gone"), chunks(source)), metadata=client.metadata
    )
    time.sleep(1.0)
    listed = client.broadcasts.ListBroadcasts(
        pb.ListBroadcastsRequest(group_id="gone"), metadata=client.metadata
    )
    (b,) = listed.broadcasts
    assert b.state == pb.BROADCAST_STATE_ON_AIR
    call.cancel()  # the operator's app is killed
    done = wait_state(client, b.id, {pb.BROADCAST_STATE_FINISHED, pb.BROADCAST_STATE_FAILED}, timeout=10)
    assert done.state == pb.BROADCAST_STATE_FINISHED
    assert done.progress.aired.ToNanoseconds() / 1e9 < 1.6
    assert "live source ended: client gone" in event_messages(server, b.id)


def test_an_emergency_voice_preempts_a_normal_bulletin_which_resumes(server: Server) -> None:
    add_group(server, "shared", "239.192.43.1", 0.2)
    speaker = server.speaker("shared-0", ["239.192.43.1:5004:normal:200"])
    client = server.client()
    normal = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(group_ids=["shared"], segments=[pb.Segment(language="vi", text=LONG_VI)]),
        metadata=client.metadata,
    )
    wait_state(client, normal.id, {pb.BROADCAST_STATE_ON_AIR})
    source = microphone_wav(server.state / "urgent.wav", 1.0)
    # a voice of the same priority cannot wait: refused at once, naming the group
    code, message = refused(
        lambda: client.broadcasts.AirLiveVoice(
            voice(header("shared"), chunks(source)), metadata=client.metadata
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message.startswith("group_ids[0]: shared is held by NORMAL broadcast")
    urgent = client.broadcasts.AirLiveVoice(
        voice(header("shared", pb.PRIORITY_EMERGENCY), chunks(source)), metadata=client.metadata
    )
    assert urgent.state == pb.BROADCAST_STATE_FINISHED, urgent.failure_reason
    assert watch(client, normal.id)[-1].type == pb.EVENT_TYPE_FINISHED
    done = client.broadcasts.GetBroadcast(
        pb.GetBroadcastRequest(broadcast_id=normal.id), metadata=client.metadata
    )
    (cut,) = done.interruptions
    assert cut.by_broadcast_id == urgent.id and cut.by_priority == pb.PRIORITY_EMERGENCY
    assert cut.resume_mode == pb.RESUME_MODE_FROM_SENTENCE
    speaker.stop()


def test_a_publisher_cannot_send_an_emergency_voice_and_bad_input_names_the_field(server: Server) -> None:
    add_group(server, "auth", "239.192.44.1", 0.2)
    with TokenStore.in_state_dir(server.state) as tokens:
        publisher, _ = tokens.create("commune newsroom", Role.PUBLISHER, groups=["auth"])
    client = server.client(publisher)
    source = microphone_wav(server.state / "auth.wav", 0.2)

    def air(requests: Iterator[pb.LiveVoiceRequest]) -> tuple[grpc.StatusCode, str]:
        return refused(lambda: client.broadcasts.AirLiveVoice(requests, metadata=client.metadata))

    code, message = air(voice(header("auth", pb.PRIORITY_EMERGENCY), chunks(source)))
    assert code == grpc.StatusCode.PERMISSION_DENIED and message.startswith("priority: EMERGENCY needs")
    code, message = air(voice(header("mic"), chunks(source)))  # outside its scope
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, message = air(iter([pb.LiveVoiceRequest(audio=b"\0\0")]))
    assert (code, message.split(":")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "header")
    code, message = air(voice(header("auth", rate=44_100), chunks(source)))
    assert (code, message.split(":")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "header.sample_rate")
    code, message = air(voice(header("auth"), iter([b"\0" * 16_000])))  # 0.5 s in one chunk
    assert (code, message.split(":")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "audio")
    # the voice that began is over: the group is free again
    wait = threading.Event()
    wait.wait(0.5)
    reply = client.broadcasts.AirLiveVoice(voice(header("auth"), chunks(source)), metadata=client.metadata)
    assert reply.state == pb.BROADCAST_STATE_FINISHED and reply.created_by.role == "publisher"
    # each call is in the audit log: the refusals, and the voice that aired with its broadcast and group
    with AuditLog.in_state_dir(server.state) as audit:
        calls = [e for e in audit.entries() if e.method == "/loa.v1.Broadcasts/AirLiveVoice"]
    assert [e.code for e in calls][-6:] == ["PERMISSION_DENIED"] * 2 + ["INVALID_ARGUMENT"] * 3 + ["OK"]
    assert (calls[-1].target, calls[-1].groups, calls[-1].token_name) == (
        reply.id,
        ("auth",),
        "commune newsroom",
    )
