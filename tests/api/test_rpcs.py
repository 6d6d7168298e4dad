"""Every RPC over real gRPC: the answers content systems rely on, and bad input → the right status."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import numpy as np
import pytest
import soundfile as sf

from engine.api import convert
from engine.api.client import Client
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group

pytestmark = pytest.mark.netns

Code = grpc.StatusCode
UNKNOWN_ENUM: Any = 42  # proto3 lets a client send any number for an enum


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("rpcs")).start()
    client = srv.client()
    client.groups.CreateGroup(pb.CreateGroupRequest(group=group("hamlet-1", "239.192.30.1")))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.client()


def test_synthesize_returns_a_playable_wav_with_the_reading(client: Client) -> None:
    reply = client.synthesis.Synthesize(pb.SynthesizeRequest(text="Ngày 2/9 nghỉ lễ.", language="vi"))
    audio, rate = sf.read(io.BytesIO(reply.audio))
    assert rate == reply.sample_rate_hz == 48_000
    assert len(audio) / rate == pytest.approx(convert.seconds_of(reply.duration), abs=0.01)
    assert np.abs(audio).max() > 0.05
    assert "mùng hai tháng chín" in reply.normalized_text or "hai tháng chín" in reply.normalized_text
    again = client.synthesis.Synthesize(pb.SynthesizeRequest(text="Ngày 2/9 nghỉ lễ.", language="vi"))
    assert again.cached and again.audio == reply.audio


def test_synthesize_ogg_opus_and_pcm(client: Client) -> None:
    ogg = client.synthesis.Synthesize(pb.SynthesizeRequest(text="Xin chào.", format=pb.AUDIO_FORMAT_OGG_OPUS))
    assert ogg.audio[:4] == b"OggS"
    assert sf.info(io.BytesIO(ogg.audio)).duration > 0.2
    pcm = client.synthesis.Synthesize(
        pb.SynthesizeRequest(text="Xin chào.", format=pb.AUDIO_FORMAT_PCM_S16LE, sample_rate_hz=16_000)
    )
    assert len(pcm.audio) / 2 / 16_000 == pytest.approx(convert.seconds_of(pcm.duration), abs=0.01)


def test_stream_synthesize_chunks_in_order_with_spans(client: Client) -> None:
    text = "Câu thứ nhất. Câu thứ hai. Câu thứ ba."
    chunks = list(client.synthesis.StreamSynthesize(pb.SynthesizeRequest(text=text)))
    assert [c.sentence_index for c in chunks] == sorted(c.sentence_index for c in chunks)
    assert chunks[-1].last and not any(c.last for c in chunks[:-1])
    assert text[chunks[0].source_span.start : chunks[0].source_span.end].startswith("Câu thứ nhất")
    opus = list(
        client.synthesis.StreamSynthesize(
            pb.SynthesizeRequest(text=text, chunk_encoding=pb.CHUNK_ENCODING_OPUS)
        )
    )
    packets = [p for c in opus for p in c.opus_packets]
    total = sum(convert.seconds_of(c.duration) for c in opus)
    assert len(packets) * 0.02 == pytest.approx(total, abs=0.05)


def test_normalize_previews_the_reading_with_warnings(client: Client) -> None:
    reply = client.synthesis.Normalize(
        pb.NormalizeRequest(text="Độ mặn 4‰. Gọi 0909 123 456.", language="vi")
    )
    assert "phần ngàn" in reply.normalized_text or "phần nghìn" in reply.normalized_text
    assert len(reply.sentences) == 2
    odd = client.synthesis.Normalize(pb.NormalizeRequest(text="Ký hiệu ☂ lạ.", language="vi"))
    assert odd.warnings and odd.warnings[0].source_text == "☂"


def test_a_normalize_preview_too_big_for_a_default_client_is_refused_with_a_part_size(client: Client) -> None:
    text = "x " * 49_500  # 99,000 characters whose preview would be ~4.3 MiB, over gRPC's default 4 MiB
    with pytest.raises(grpc.RpcError) as caught:
        client.synthesis.Normalize(pb.NormalizeRequest(text=text, language="vi"), timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    details = caught.value.details() or ""
    assert details.startswith("text: its preview would be") and "parts of about" in details
    part = int(details.split("parts of about ")[1].split()[0])
    reply = client.synthesis.Normalize(pb.NormalizeRequest(text=text[:part], language="vi"), timeout=60)
    assert reply.normalized_text  # the suggested part fits


def test_list_voices_shows_licence_and_the_builtin_voice(client: Client) -> None:
    voices = client.synthesis.ListVoices(pb.ListVoicesRequest()).voices
    builtin = [v for v in voices if v.installed and v.language == "vi"]
    assert builtin and all(v.licence for v in voices)
    assert any(v.family == pb.VOICE_FAMILY_MMS and "NC" in v.licence and not v.installed for v in voices)
    khmer = client.synthesis.ListVoices(pb.ListVoicesRequest(language="km")).voices
    assert khmer and all(v.language == "km" for v in khmer)


def test_groups_crud(client: Client) -> None:
    made = client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("crud", "239.192.31.1", playout_delay=convert.duration(0.8)))
    )
    assert made.ttl == 16 and convert.seconds_of(made.playout_delay) == pytest.approx(0.8)
    changed = client.groups.UpdateGroup(
        pb.UpdateGroupRequest(group=pb.Group(id="crud", name="Khóm 2"), update_mask={"paths": ["name"]})
    )
    assert changed.name == "Khóm 2" and changed.multicast_address == "239.192.31.1"
    assert "crud" in [g.id for g in client.groups.ListGroups(pb.ListGroupsRequest()).groups]
    client.groups.DeleteGroup(pb.DeleteGroupRequest(group_id="crud"))
    with pytest.raises(grpc.RpcError) as err:
        client.groups.GetGroup(pb.GetGroupRequest(group_id="crud"))
    assert err.value.code() == Code.NOT_FOUND


def _segment(text: str = "Xin chào.", **kw: Any) -> pb.Segment:
    return pb.Segment(language=kw.pop("language", "vi"), text=text, **kw)


def _broadcast(**kw: Any) -> pb.CreateBroadcastRequest:
    kw.setdefault("segments", [_segment()])
    kw.setdefault("group_ids", ["hamlet-1"])
    return pb.CreateBroadcastRequest(**kw)


BAD: list[tuple[str, str, Callable[[], Any], grpc.StatusCode, str]] = [
    # (id, method, request, status, a word the message must contain: the field)
    ("empty text", "Synthesize", lambda: pb.SynthesizeRequest(text="  "), Code.INVALID_ARGUMENT, "text"),
    (
        "huge text",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a" * 100_001),
        Code.INVALID_ARGUMENT,
        "text",
    ),
    (
        "control char",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a\x07b"),
        Code.INVALID_ARGUMENT,
        "text",
    ),
    (
        "unknown voice",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a", voice=pb.VoiceSettings(voice_id="nope")),
        Code.NOT_FOUND,
        "voice_id",
    ),
    (
        "unknown language",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a", language="xx"),
        Code.INVALID_ARGUMENT,
        "language",
    ),
    (
        "bad dialect",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a", dialect="west"),
        Code.INVALID_ARGUMENT,
        "dialect",
    ),
    (
        "bad format",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a", format=UNKNOWN_ENUM),
        Code.INVALID_ARGUMENT,
        "format",
    ),
    (
        "bad rate",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a", sample_rate_hz=100),
        Code.INVALID_ARGUMENT,
        "sample_rate_hz",
    ),
    (
        "bad speed",
        "Synthesize",
        lambda: pb.SynthesizeRequest(text="a", voice=pb.VoiceSettings(speed=9)),
        Code.INVALID_ARGUMENT,
        "speed",
    ),
    (
        "stream empty",
        "StreamSynthesize",
        lambda: pb.SynthesizeRequest(text=""),
        Code.INVALID_ARGUMENT,
        "text",
    ),
    (
        "opus at 16k",
        "StreamSynthesize",
        lambda: pb.SynthesizeRequest(text="a", chunk_encoding=pb.CHUNK_ENCODING_OPUS, sample_rate_hz=16000),
        Code.INVALID_ARGUMENT,
        "sample_rate_hz",
    ),
    ("normalize empty", "Normalize", lambda: pb.NormalizeRequest(text=""), Code.INVALID_ARGUMENT, "text"),
    ("no segments", "CreateBroadcast", lambda: _broadcast(segments=[]), Code.INVALID_ARGUMENT, "segments"),
    ("no groups", "CreateBroadcast", lambda: _broadcast(group_ids=[]), Code.INVALID_ARGUMENT, "group_ids"),
    (
        "unknown group",
        "CreateBroadcast",
        lambda: _broadcast(group_ids=["ghost"]),
        Code.NOT_FOUND,
        "group_ids[0]",
    ),
    (
        "unknown voice in segment",
        "CreateBroadcast",
        lambda: _broadcast(segments=[_segment(voice=pb.VoiceSettings(voice_id="nope"))]),
        Code.NOT_FOUND,
        "segments[0]",
    ),
    (
        "empty segment text",
        "CreateBroadcast",
        lambda: _broadcast(segments=[_segment("")]),
        Code.INVALID_ARGUMENT,
        "segments[0]",
    ),
    (
        "oversized text",
        "CreateBroadcast",
        lambda: _broadcast(segments=[_segment("a" * 100_001)]),
        Code.INVALID_ARGUMENT,
        "segments[0].text",
    ),
    (
        "start in the past",
        "CreateBroadcast",
        lambda: _broadcast(start_time=convert.timestamp(time.time() - 3600)),
        Code.INVALID_ARGUMENT,
        "start_time",
    ),
    (
        "start too far",
        "CreateBroadcast",
        lambda: _broadcast(start_time=convert.timestamp(time.time() + 400 * 86400)),
        Code.INVALID_ARGUMENT,
        "start_time",
    ),
    (
        "bad priority",
        "CreateBroadcast",
        lambda: _broadcast(priority=UNKNOWN_ENUM),
        Code.INVALID_ARGUMENT,
        "priority",
    ),
    (
        "huge repeat",
        "CreateBroadcast",
        lambda: _broadcast(repeat_count=10_000),
        Code.INVALID_ARGUMENT,
        "repeat_count",
    ),
    (
        "bad audio",
        "CreateBroadcast",
        lambda: _broadcast(segments=[pb.Segment(language="vi", audio=b"RIFF....WAVEjunk")]),
        Code.INVALID_ARGUMENT,
        "segments[0]",
    ),
    ("get empty id", "GetBroadcast", lambda: pb.GetBroadcastRequest(), Code.INVALID_ARGUMENT, "broadcast_id"),
    (
        "get unknown",
        "GetBroadcast",
        lambda: pb.GetBroadcastRequest(broadcast_id="nope"),
        Code.NOT_FOUND,
        "broadcast_id",
    ),
    (
        "cancel unknown",
        "CancelBroadcast",
        lambda: pb.CancelBroadcastRequest(broadcast_id="x"),
        Code.NOT_FOUND,
        "broadcast_id",
    ),
    (
        "list bad state",
        "ListBroadcasts",
        lambda: pb.ListBroadcastsRequest(states=[UNKNOWN_ENUM]),
        Code.INVALID_ARGUMENT,
        "states[0]",
    ),
    (
        "list big page",
        "ListBroadcasts",
        lambda: pb.ListBroadcastsRequest(page_size=5000),
        Code.INVALID_ARGUMENT,
        "page_size",
    ),
    (
        "list bad token",
        "ListBroadcasts",
        lambda: pb.ListBroadcastsRequest(page_token="zzz"),
        Code.INVALID_ARGUMENT,
        "page_token",
    ),
    (
        "unicast address",
        "CreateGroup",
        lambda: pb.CreateGroupRequest(group=group("g-bad", "10.0.0.1")),
        Code.INVALID_ARGUMENT,
        "multicast_address",
    ),
    (
        "reserved address",
        "CreateGroup",
        lambda: pb.CreateGroupRequest(group=group("g-bad", "224.0.0.5")),
        Code.INVALID_ARGUMENT,
        "multicast_address",
    ),
    (
        "odd port",
        "CreateGroup",
        lambda: pb.CreateGroupRequest(group=group("g-bad", "239.1.1.1", port=5005)),
        Code.INVALID_ARGUMENT,
        "port",
    ),
    (
        "bad id",
        "CreateGroup",
        lambda: pb.CreateGroupRequest(group=group("Bad Id!", "239.1.1.1")),
        Code.INVALID_ARGUMENT,
        "id",
    ),
    (
        "duplicate group",
        "CreateGroup",
        lambda: pb.CreateGroupRequest(group=group("hamlet-1", "239.192.30.9")),
        Code.ALREADY_EXISTS,
        "hamlet-1",
    ),
    (
        "bad mask",
        "UpdateGroup",
        lambda: pb.UpdateGroupRequest(group=pb.Group(id="hamlet-1"), update_mask={"paths": ["colour"]}),
        Code.INVALID_ARGUMENT,
        "update_mask",
    ),
    (
        "delete unknown",
        "DeleteGroup",
        lambda: pb.DeleteGroupRequest(group_id="ghost"),
        Code.NOT_FOUND,
        "ghost",
    ),
    (
        "speakers unknown group",
        "ListSpeakers",
        lambda: pb.ListSpeakersRequest(group_id="ghost"),
        Code.NOT_FOUND,
        "ghost",
    ),
]

STUBS = {
    "Synthesize": "synthesis",
    "StreamSynthesize": "synthesis",
    "Normalize": "synthesis",
    "CreateBroadcast": "broadcasts",
    "GetBroadcast": "broadcasts",
    "CancelBroadcast": "broadcasts",
    "ListBroadcasts": "broadcasts",
    "CreateGroup": "groups",
    "UpdateGroup": "groups",
    "DeleteGroup": "groups",
    "ListSpeakers": "groups",
}


@pytest.mark.parametrize(
    ("method", "request_", "code", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input_gets_the_right_status(
    client: Client, method: str, request_: Callable[[], Any], code: grpc.StatusCode, field: str
) -> None:
    call = getattr(getattr(client, STUBS[method]), method)
    with pytest.raises(grpc.RpcError) as err:
        reply = call(request_(), timeout=30)
        if method == "StreamSynthesize":
            list(reply)
    assert err.value.code() == code, err.value.details()
    assert field in err.value.details()
    # The server stays healthy and serves the next good request.
    assert client.synthesis.Normalize(pb.NormalizeRequest(text="Xin chào."), timeout=10).normalized_text
