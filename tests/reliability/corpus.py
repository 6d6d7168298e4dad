"""Malformed requests, as data: each with the status code it must get and a word its message must contain.

Every case goes over real gRPC to an auth-enabled server (see :func:`prepare`); requests are built lazily
(some are megabytes). Raw cases are bytes sent as they are, to reach the server's request parsing. The
caller names which credentials ride along (:data:`CALLERS`). :func:`run` sends one case and then checks
that the server still answers grpc.health SERVING and serves a good request.
"""

from __future__ import annotations

import base64
import io
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
import soundfile as sf
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine.api.tokens import TokenStore
from protos.loa.v1 import loa_pb2 as pb

Code = grpc.StatusCode
GROUP = "corpus"  # a group the publisher token covers
OTHER = "corpus-other"  # a group it does not cover
EMERGENCY_GROUP = "corpus-emergency"
UNKNOWN_ENUM: Any = 42
UNSPECIFIED: Any = 0
NEGATIVE_ENUM: Any = -1
MB = 1024 * 1024

METHODS: dict[str, tuple[str, bool]] = {  # name → (path, server streaming)
    "Synthesize": ("/loa.v1.Synthesis/Synthesize", False),
    "StreamSynthesize": ("/loa.v1.Synthesis/StreamSynthesize", True),
    "Normalize": ("/loa.v1.Synthesis/Normalize", False),
    "ListVoices": ("/loa.v1.Synthesis/ListVoices", False),
    "CreateBroadcast": ("/loa.v1.Broadcasts/CreateBroadcast", False),
    "GetBroadcast": ("/loa.v1.Broadcasts/GetBroadcast", False),
    "ListBroadcasts": ("/loa.v1.Broadcasts/ListBroadcasts", False),
    "CancelBroadcast": ("/loa.v1.Broadcasts/CancelBroadcast", False),
    "WatchBroadcast": ("/loa.v1.Broadcasts/WatchBroadcast", True),
    "CreateGroup": ("/loa.v1.Groups/CreateGroup", False),
    "GetGroup": ("/loa.v1.Groups/GetGroup", False),
    "UpdateGroup": ("/loa.v1.Groups/UpdateGroup", False),
    "DeleteGroup": ("/loa.v1.Groups/DeleteGroup", False),
    "ListSpeakers": ("/loa.v1.Groups/ListSpeakers", False),
    "ListGroups": ("/loa.v1.Groups/ListGroups", False),
}


@dataclass
class Context:
    """What the cases refer to on the server under test: tokens by caller, and prepared broadcasts."""

    tokens: dict[str, str] = field(default_factory=dict)  # caller → the authorization header value
    cancelled_id: str = ""  # a broadcast already cancelled
    busy_group: str = "corpus-busy"  # a group a scheduled broadcast still targets
    other_id: str = ""  # a broadcast on a group the publisher does not cover
    page_token: str = ""  # a real next_page_token of ListBroadcasts(page_size=1)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    request: Callable[[Context], Any]  # a message, or bytes sent as they are
    code: grpc.StatusCode
    field: str  # the status message must contain this (the field, or what was wrong)
    caller: str = "admin"


# -- building blocks -------------------------------------------------------------------------------------


def ts(seconds: float) -> timestamp_pb2.Timestamp:
    t = timestamp_pb2.Timestamp()
    t.FromNanoseconds(int(seconds * 1e9))
    return t


def dur(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def seg(text: str = "Xin chào bà con.", **kw: Any) -> pb.Segment:
    return pb.Segment(language=kw.pop("language", "vi"), text=text, **kw)


def audio_seg(data: bytes) -> pb.Segment:
    return pb.Segment(language="vi", audio=data)


def bc(**kw: Any) -> pb.CreateBroadcastRequest:
    kw.setdefault("segments", [seg()])
    kw.setdefault("group_ids", [GROUP])
    return pb.CreateBroadcastRequest(**kw)


def synth(text: str = "Xin chào.", **kw: Any) -> pb.SynthesizeRequest:
    return pb.SynthesizeRequest(text=text, **kw)


def voice(**kw: Any) -> pb.VoiceSettings:
    return pb.VoiceSettings(**kw)


def grp(group_id: str = "corpus-new", address: str = "239.192.50.1", **kw: Any) -> pb.CreateGroupRequest:
    kw.setdefault("port", 5004)
    kw.setdefault("name", group_id)
    return pb.CreateGroupRequest(group=pb.Group(id=group_id, multicast_address=address, **kw))


def update(mask: list[str], **kw: Any) -> pb.UpdateGroupRequest:
    kw.setdefault("id", GROUP)
    return pb.UpdateGroupRequest(group=pb.Group(**kw), update_mask=field_mask_pb2.FieldMask(paths=mask))


def wav(seconds: float, rate: int = 8000, subtype: str = "PCM_16") -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros(int(seconds * rate), np.float32), rate, format="WAV", subtype=subtype)
    return out.getvalue()


def wav_u8_header(seconds: float, rate: int = 8000) -> bytes:
    """A RIFF/WAVE header for 8-bit mono PCM of ``seconds``, without its samples."""
    n = int(seconds * rate)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + n)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", n))
    )


def ogg_cut_in_half() -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros(3 * 48000, np.float32), 48000, format="OGG", subtype="OPUS")
    return out.getvalue()[: len(out.getvalue()) // 2]


def two_hour_wav() -> bytes:
    """A complete, valid WAV of 2 hours (8 kHz, 8-bit silence): 57.6 MB, under the 64 MiB audio limit."""
    header = wav_u8_header(7200)
    return header + b"\x80" * (7200 * 8000)


def ogg_header_only() -> bytes:
    """The first Ogg page of an Ogg/Opus file (OpusHead) and nothing after it."""
    out = io.BytesIO()
    sf.write(out, np.zeros(48000, np.float32), 48000, format="OGG", subtype="OPUS")
    data = out.getvalue()
    second = data.find(b"OggS", 4)
    return data[:second]


def forged_token(ctx: Context, seq: str) -> str:
    """A page token in the server's format with the filters' fingerprint kept and the position forged."""
    raw = base64.urlsafe_b64decode(ctx.page_token + "=" * (-len(ctx.page_token) % 4)).decode()
    fingerprint = raw.split(":", 1)[1]
    return base64.urlsafe_b64encode(f"{seq}:{fingerprint}".encode()).decode().rstrip("=")


def _const(value: Any) -> Callable[[Context], Any]:
    return lambda ctx: value


# -- the corpus ------------------------------------------------------------------------------------------

S, SS, N = "Synthesize", "StreamSynthesize", "Normalize"
CB = "CreateBroadcast"
INVALID, NOT_FOUND, DENIED = Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.PERMISSION_DENIED
UNAUTH = Code.UNAUTHENTICATED


def _text_cases() -> list[Case]:
    """Bad text, sent to each of the three text RPCs."""
    texts: list[tuple[str, Callable[[], str]]] = [
        ("empty", lambda: ""),
        ("blank", lambda: " \n\t  "),
        ("1 MB", lambda: "a" * MB),
        ("100,001 chars", lambda: "Xin chào. " * 10_000 + "a"),
        ("NUL", lambda: "Xin\x00chào"),
        ("escape sequence", lambda: "Xin \x1b[31mchào"),
        ("DEL", lambda: "Xin\x7fchào"),
        ("C1 control", lambda: "Xin\x85chào"),
    ]
    cases = []
    for method in (S, SS, N):
        for label, text in texts:

            def build(ctx: Context, method: str = method, text: Callable[[], str] = text) -> Any:
                body = text()
                return pb.NormalizeRequest(text=body) if method == N else synth(body)

            cases.append(Case(f"{method}: {label} text", method, build, INVALID, "text"))
    return cases


def _synthesis_cases() -> list[Case]:
    nan, inf = float("nan"), float("inf")
    rows: list[tuple[str, str, Callable[[Context], Any], grpc.StatusCode, str]] = [
        ("nothing speakable", S, lambda c: synth("...!!! ---"), INVALID, "text"),
        ("unknown voice", S, lambda c: synth(voice=voice(voice_id="vi-nobody")), NOT_FOUND, "voice_id"),
        ("over-long voice id", S, lambda c: synth(voice=voice(voice_id="v" * 10_000)), NOT_FOUND, "voice_id"),
        ("unknown language", S, lambda c: synth(language="xx"), INVALID, "language"),
        ("no voice for language", S, lambda c: synth(language="km"), NOT_FOUND, "language"),
        (
            "injected language",
            S,
            lambda c: synth(language="vi'; DROP TABLE broadcasts;--"),
            INVALID,
            "language",
        ),
        ("unknown dialect", S, lambda c: synth(dialect="west"), INVALID, "dialect"),
        ("unknown speaker", S, lambda c: synth(voice=voice(speaker="nobody")), INVALID, "speaker"),
        ("format 42", S, lambda c: synth(format=UNKNOWN_ENUM), INVALID, "format"),
        ("format -1", S, lambda c: synth(format=NEGATIVE_ENUM), INVALID, "format"),
        ("rate 100 Hz", S, lambda c: synth(sample_rate_hz=100), INVALID, "sample_rate_hz"),
        ("rate 96 kHz", S, lambda c: synth(sample_rate_hz=96_000), INVALID, "sample_rate_hz"),
        ("rate 2^32-1", S, lambda c: synth(sample_rate_hz=2**32 - 1), INVALID, "sample_rate_hz"),
        (
            "Ogg at 16 kHz",
            S,
            lambda c: synth(format=pb.AUDIO_FORMAT_OGG_OPUS, sample_rate_hz=16_000),
            INVALID,
            "sample_rate_hz",
        ),
        ("speed 0", S, lambda c: synth(voice=voice(speed=0)), INVALID, "speed"),
        ("speed -1", S, lambda c: synth(voice=voice(speed=-1)), INVALID, "speed"),
        ("speed NaN", S, lambda c: synth(voice=voice(speed=nan)), INVALID, "speed"),
        ("speed inf", S, lambda c: synth(voice=voice(speed=inf)), INVALID, "speed"),
        ("noise_scale 5", S, lambda c: synth(voice=voice(noise_scale=5)), INVALID, "noise_scale"),
        ("noise_w NaN", S, lambda c: synth(voice=voice(noise_w=nan)), INVALID, "noise_w"),
        ("pause -1 s", S, lambda c: synth(sentence_pause=dur(-1)), INVALID, "sentence_pause"),
        ("pause 10^9 s", S, lambda c: synth(sentence_pause=dur(1e9)), INVALID, "sentence_pause"),
        ("stream encoding 42", SS, lambda c: synth(chunk_encoding=UNKNOWN_ENUM), INVALID, "chunk_encoding"),
        (
            "stream Opus at 16 kHz",
            SS,
            lambda c: synth(chunk_encoding=pb.CHUNK_ENCODING_OPUS, sample_rate_hz=16_000),
            INVALID,
            "sample_rate_hz",
        ),
        ("stream unknown voice", SS, lambda c: synth(voice=voice(voice_id="nope")), NOT_FOUND, "voice_id"),
        ("stream speed NaN", SS, lambda c: synth(voice=voice(speed=nan)), INVALID, "speed"),
        (
            "normalize unknown language",
            N,
            lambda c: pb.NormalizeRequest(text="a", language="zz"),
            INVALID,
            "language",
        ),
        (
            "voices unknown language",
            "ListVoices",
            lambda c: pb.ListVoicesRequest(language="zz"),
            INVALID,
            "language",
        ),
    ]
    return [Case(name, method, request, code, word) for name, method, request, code, word in rows]


def _broadcast_cases() -> list[Case]:
    nan = float("nan")
    now = time.time
    rows: list[tuple[str, Callable[[Context], Any], grpc.StatusCode, str]] = [
        ("missing segments", lambda c: bc(segments=[]), INVALID, "segments"),
        ("33 segments", lambda c: bc(segments=[seg()] * 33), INVALID, "segments"),
        (
            "segment without content",
            lambda c: bc(segments=[pb.Segment(language="vi")]),
            INVALID,
            "segments[0]",
        ),
        ("empty text", lambda c: bc(segments=[seg("")]), INVALID, "segments[0].text"),
        ("blank text", lambda c: bc(segments=[seg("   ")]), INVALID, "segments[0].text"),
        ("1 MB text", lambda c: bc(segments=[seg("a" * MB)]), INVALID, "segments[0].text"),
        (
            "control char in 2nd segment",
            lambda c: bc(segments=[seg(), seg("a\x07b")]),
            INVALID,
            "segments[1].text",
        ),
        (
            "unknown voice",
            lambda c: bc(segments=[seg(voice=voice(voice_id="nope"))]),
            NOT_FOUND,
            "segments[0]",
        ),
        ("unknown language", lambda c: bc(segments=[seg(language="xx")]), NOT_FOUND, "segments[0].language"),
        ("malformed language", lambda c: bc(segments=[seg(language="VI!")]), INVALID, "segments[0].language"),
        ("over-long dialect", lambda c: bc(segments=[seg(dialect="d" * 33)]), INVALID, "segments[0].dialect"),
        (
            "over-long voice id",
            lambda c: bc(segments=[seg(voice=voice(voice_id="v" * 129))]),
            INVALID,
            "voice_id",
        ),
        (
            "over-long speaker",
            lambda c: bc(segments=[seg(voice=voice(speaker="s" * 129))]),
            INVALID,
            "speaker",
        ),
        (
            "speed NaN",
            lambda c: bc(segments=[seg(voice=voice(speed=nan))]),
            INVALID,
            "segments[0].voice.speed",
        ),
        ("speed 10", lambda c: bc(segments=[seg(voice=voice(speed=10))]), INVALID, "segments[0].voice.speed"),
        ("noise_w -1", lambda c: bc(segments=[seg(voice=voice(noise_w=-1))]), INVALID, "noise_w"),
        ("empty audio", lambda c: bc(segments=[audio_seg(b"")]), INVALID, "segments[0].audio"),
        (
            "random bytes audio",
            lambda c: bc(segments=[audio_seg(os.urandom(4096))]),
            INVALID,
            "segments[0].audio",
        ),
        (
            "RIFF WAVE junk",
            lambda c: bc(segments=[audio_seg(b"RIFF\x00\x00\x00\x00WAVEjunk")]),
            INVALID,
            "audio",
        ),
        ("truncated WAV", lambda c: bc(segments=[audio_seg(wav(2.0)[:300])]), INVALID, "segments[0].audio"),
        (
            "WAV header only",
            lambda c: bc(segments=[audio_seg(wav_u8_header(60))]),
            INVALID,
            "segments[0].audio",
        ),
        ("WAV of 0 samples", lambda c: bc(segments=[audio_seg(wav(0.0))]), INVALID, "segments[0].audio"),
        (
            "Ogg header only",
            lambda c: bc(segments=[audio_seg(ogg_header_only())]),
            INVALID,
            "segments[0].audio",
        ),
        (
            "Ogg cut in half",
            lambda c: bc(segments=[audio_seg(ogg_cut_in_half())]),
            INVALID,
            "segments[0].audio",
        ),
        ("MP3 bytes", lambda c: bc(segments=[audio_seg(b"ID3\x04\x00" + bytes(2000))]), INVALID, "audio"),
        ("WAV of 2 hours", lambda c: bc(segments=[audio_seg(two_hour_wav())]), INVALID, "segments[0].audio"),
        ("audio over 64 MiB", lambda c: bc(segments=[audio_seg(b"OggS" + bytes(65 * MB))]), INVALID, "audio"),
        ("missing groups", lambda c: bc(group_ids=[]), INVALID, "group_ids"),
        ("unknown group", lambda c: bc(group_ids=["ghost"]), NOT_FOUND, "group_ids[0]"),
        ("malformed group id", lambda c: bc(group_ids=["Ấp 1"]), INVALID, "group_ids[0]"),
        ("empty group id", lambda c: bc(group_ids=[GROUP, ""]), INVALID, "group_ids[1]"),
        ("over-long group id", lambda c: bc(group_ids=["g" * 64]), INVALID, "group_ids[0]"),
        ("duplicate group ids", lambda c: bc(group_ids=[GROUP, GROUP]), INVALID, "group_ids[1]"),
        ("257 groups", lambda c: bc(group_ids=[f"g{i}" for i in range(257)]), INVALID, "group_ids"),
        ("priority 42", lambda c: bc(priority=UNKNOWN_ENUM), INVALID, "priority"),
        ("priority -1", lambda c: bc(priority=NEGATIVE_ENUM), INVALID, "priority"),
        ("start an hour ago", lambda c: bc(start_time=ts(now() - 3600)), INVALID, "start_time"),
        ("start at the epoch", lambda c: bc(start_time=ts(0)), INVALID, "start_time"),
        ("start in year 1", lambda c: bc(start_time=timestamp_of(-62135596800)), INVALID, "start_time"),
        ("start in 400 days", lambda c: bc(start_time=ts(now() + 400 * 86400)), INVALID, "start_time"),
        ("start in year 9999", lambda c: bc(start_time=timestamp_of(253402300799)), INVALID, "start_time"),
        ("start at 2^62 s", lambda c: bc(start_time=timestamp_of(2**62)), INVALID, "start_time"),
        ("repeat 101", lambda c: bc(repeat_count=101), INVALID, "repeat_count"),
        ("repeat 2^32-1", lambda c: bc(repeat_count=2**32 - 1), INVALID, "repeat_count"),
        ("repeat gap -5 s", lambda c: bc(repeat_gap=dur(-5)), INVALID, "repeat_gap"),
        ("repeat gap 10^12 s", lambda c: bc(repeat_gap=duration_of(10**12)), INVALID, "repeat_gap"),
        ("sentence pause 11 s", lambda c: bc(sentence_pause=dur(11)), INVALID, "sentence_pause"),
        ("over-long idempotency key", lambda c: bc(idempotency_key="k" * 129), INVALID, "idempotency_key"),
        ("control char in key", lambda c: bc(idempotency_key="k\x00"), INVALID, "idempotency_key"),
        ("over-long title", lambda c: bc(title="t" * 201), INVALID, "title"),
        ("control char in title", lambda c: bc(title="Tin\x1b"), INVALID, "title"),
        ("over-long requested_by", lambda c: bc(requested_by="r" * 201), INVALID, "requested_by"),
        (
            "key reused for another request",
            lambda c: bc(idempotency_key="corpus-key", segments=[seg("Khác hẳn.")]),
            Code.FAILED_PRECONDITION,
            "idempotency_key",
        ),
    ]
    cases = [Case(f"CreateBroadcast: {name}", CB, request, code, word) for name, request, code, word in rows]
    cases.append(
        Case(
            "CreateBroadcast: 97 MB message",
            CB,
            lambda c: bc(segments=[audio_seg(b"OggS" + bytes(97 * MB))]),
            Code.RESOURCE_EXHAUSTED,
            "larger than max",
        )
    )
    return cases


def timestamp_of(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


def duration_of(seconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=seconds)


def _read_cases() -> list[Case]:
    rows: list[tuple[str, str, Callable[[Context], Any], grpc.StatusCode, str]] = [
        ("get: empty id", "GetBroadcast", lambda c: pb.GetBroadcastRequest(), INVALID, "broadcast_id"),
        (
            "get: unknown id",
            "GetBroadcast",
            lambda c: pb.GetBroadcastRequest(broadcast_id="0" * 16),
            NOT_FOUND,
            "broadcast_id",
        ),
        (
            "get: 5000-letter Vietnamese id",
            "GetBroadcast",
            lambda c: pb.GetBroadcastRequest(broadcast_id="ấ" * 5000),
            NOT_FOUND,
            "broadcast_id",
        ),
        (
            "get: 10 kB id",
            "GetBroadcast",
            lambda c: pb.GetBroadcastRequest(broadcast_id="x" * 10_000),
            NOT_FOUND,
            "broadcast_id",
        ),
        (
            "cancel: empty id",
            "CancelBroadcast",
            lambda c: pb.CancelBroadcastRequest(),
            INVALID,
            "broadcast_id",
        ),
        (
            "cancel: unknown id",
            "CancelBroadcast",
            lambda c: pb.CancelBroadcastRequest(broadcast_id="nope"),
            NOT_FOUND,
            "broadcast_id",
        ),
        (
            "cancel: already cancelled",
            "CancelBroadcast",
            lambda c: pb.CancelBroadcastRequest(broadcast_id=c.cancelled_id),
            Code.FAILED_PRECONDITION,
            "broadcast_id",
        ),
        ("watch: empty id", "WatchBroadcast", lambda c: pb.WatchBroadcastRequest(), INVALID, "broadcast_id"),
        (
            "watch: unknown id",
            "WatchBroadcast",
            lambda c: pb.WatchBroadcastRequest(broadcast_id="nope"),
            NOT_FOUND,
            "broadcast_id",
        ),
        (
            "list: state 42",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(states=[UNKNOWN_ENUM]),
            INVALID,
            "states[0]",
        ),
        (
            "list: state unspecified",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(states=[pb.BROADCAST_STATE_QUEUED, UNSPECIFIED]),
            INVALID,
            "states[1]",
        ),
        (
            "list: page size 5000",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(page_size=5000),
            INVALID,
            "page_size",
        ),
        (
            "list: page size 2^32-1",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(page_size=2**32 - 1),
            INVALID,
            "page_size",
        ),
        (
            "list: garbage page token",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(page_token="!!!"),
            INVALID,
            "page_token",
        ),
        (
            "list: 10 kB page token",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(page_token="A" * 10_000),
            INVALID,
            "page_token",
        ),
        (
            "list: token with other filters",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(page_token=c.page_token, group_id=GROUP),
            INVALID,
            "page_token",
        ),
        (
            "list: forged token, position not a number",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(page_token=forged_token(c, "x")),
            INVALID,
            "page_token",
        ),
        (
            "list: forged token, position 10^30",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(page_token=forged_token(c, str(10**30))),
            INVALID,
            "page_token",
        ),
    ]
    return [Case(name, method, request, code, word) for name, method, request, code, word in rows]


def _group_cases() -> list[Case]:
    addresses = [
        ("unicast IPv4", "10.0.0.1"),
        ("local network control", "224.0.0.5"),
        ("internetwork control", "224.0.1.1"),
        ("source-specific IPv4", "232.1.2.3"),
        ("SSDP", "239.255.255.250"),
        ("broadcast", "255.255.255.255"),
        ("any", "0.0.0.0"),
        ("not an address", "two-three-nine"),
        ("address with port", "239.192.50.9:5004"),
        ("empty address", ""),
        ("IPv6 all-nodes", "ff02::1"),
        ("IPv6 permanent site-local", "ff05::2"),
        ("IPv6 source-specific", "ff3e::1234"),
        ("IPv6 interface-local", "ff11::1"),
        ("IPv6 reserved scope 0", "ff10::1"),
        ("IPv6 reserved scope f", "ff1f::1"),
        ("IPv6 link-local without interface", "ff12::1"),
        ("IPv6 unicast", "2001:db8::1"),
        ("IPv4-mapped IPv6", "::ffff:239.192.50.9"),
    ]
    cases = [
        Case(
            f"CreateGroup: {label}",
            "CreateGroup",
            _const(grp(address=addr)),
            INVALID,
            "multicast_address",
        )
        for label, addr in addresses
    ]
    rows: list[tuple[str, str, Callable[[Context], Any], grpc.StatusCode, str]] = [
        ("CreateGroup: odd port", "CreateGroup", lambda c: grp(port=5005), INVALID, "port"),
        ("CreateGroup: port 80", "CreateGroup", lambda c: grp(port=80), INVALID, "port"),
        ("CreateGroup: port 0", "CreateGroup", lambda c: grp(port=0), INVALID, "port"),
        ("CreateGroup: port 2^32-2", "CreateGroup", lambda c: grp(port=2**32 - 2), INVALID, "port"),
        ("CreateGroup: ttl 256", "CreateGroup", lambda c: grp(ttl=256), INVALID, "ttl"),
        (
            "CreateGroup: bitrate 1000",
            "CreateGroup",
            lambda c: grp(opus_bitrate_bps=1000),
            INVALID,
            "opus_bitrate_bps",
        ),
        (
            "CreateGroup: bitrate 10^9",
            "CreateGroup",
            lambda c: grp(opus_bitrate_bps=10**9),
            INVALID,
            "opus_bitrate_bps",
        ),
        (
            "CreateGroup: loss 51%",
            "CreateGroup",
            lambda c: grp(expected_loss_percent=51),
            INVALID,
            "expected_loss_percent",
        ),
        (
            "CreateGroup: playout -1 s",
            "CreateGroup",
            lambda c: grp(playout_delay=dur(-1)),
            INVALID,
            "playout_delay",
        ),
        (
            "CreateGroup: playout 10^6 s",
            "CreateGroup",
            lambda c: grp(playout_delay=dur(1e6)),
            INVALID,
            "playout_delay",
        ),
        (
            "CreateGroup: interface with spaces",
            "CreateGroup",
            lambda c: grp(interface="eth 0"),
            INVALID,
            "interface",
        ),
        (
            "CreateGroup: 16-char interface",
            "CreateGroup",
            lambda c: grp(interface="e" * 16),
            INVALID,
            "interface",
        ),
        ("CreateGroup: over-long name", "CreateGroup", lambda c: grp(name="n" * 201), INVALID, "name"),
        ("CreateGroup: empty id", "CreateGroup", lambda c: grp(group_id=""), INVALID, "id"),
        ("CreateGroup: id with spaces", "CreateGroup", lambda c: grp(group_id="ấp phú hòa"), INVALID, "id"),
        ("CreateGroup: 64-char id", "CreateGroup", lambda c: grp(group_id="g" * 64), INVALID, "id"),
        (
            "CreateGroup: existing id",
            "CreateGroup",
            lambda c: grp(group_id=GROUP),
            Code.ALREADY_EXISTS,
            GROUP,
        ),
        (
            "CreateGroup: address and port taken",
            "CreateGroup",
            lambda c: grp(address="239.192.40.1"),
            INVALID,
            "multicast_address",
        ),
        (
            "CreateGroup: second emergency group",
            "CreateGroup",
            lambda c: grp(emergency=True),
            INVALID,
            "emergency",
        ),
        (
            "GetGroup: unknown",
            "GetGroup",
            lambda c: pb.GetGroupRequest(group_id="ghost"),
            NOT_FOUND,
            "group_id",
        ),
        ("GetGroup: empty id", "GetGroup", lambda c: pb.GetGroupRequest(), NOT_FOUND, "group_id"),
        (
            "UpdateGroup: unknown mask path",
            "UpdateGroup",
            lambda c: update(["colour"]),
            INVALID,
            "update_mask",
        ),
        ("UpdateGroup: mask names the id", "UpdateGroup", lambda c: update(["id"]), INVALID, "update_mask"),
        (
            "UpdateGroup: mask names create_time",
            "UpdateGroup",
            lambda c: update(["create_time"]),
            INVALID,
            "update_mask",
        ),
        ("UpdateGroup: empty mask path", "UpdateGroup", lambda c: update([""]), INVALID, "update_mask"),
        (
            "UpdateGroup: unknown group",
            "UpdateGroup",
            lambda c: update(["name"], id="ghost", name="x"),
            NOT_FOUND,
            "group.id",
        ),
        (
            "UpdateGroup: unicast address",
            "UpdateGroup",
            lambda c: update(["multicast_address"], multicast_address="10.1.1.1"),
            INVALID,
            "multicast_address",
        ),
        ("UpdateGroup: odd port", "UpdateGroup", lambda c: update(["port"], port=7), INVALID, "port"),
        (
            "DeleteGroup: unknown",
            "DeleteGroup",
            lambda c: pb.DeleteGroupRequest(group_id="ghost"),
            NOT_FOUND,
            "group_id",
        ),
        (
            "DeleteGroup: still targeted",
            "DeleteGroup",
            lambda c: pb.DeleteGroupRequest(group_id=c.busy_group),
            Code.FAILED_PRECONDITION,
            "group_id",
        ),
        (
            "ListSpeakers: unknown group",
            "ListSpeakers",
            lambda c: pb.ListSpeakersRequest(group_id="ghost"),
            NOT_FOUND,
            "group_id",
        ),
    ]
    return cases + [Case(name, method, request, code, word) for name, method, request, code, word in rows]


def _raw_cases() -> list[Case]:
    """Bytes that are not the method's message: corrupt wire format, bad UTF-8, truncation."""
    rows = [
        ("Normalize", b"\xff\xff\xff\xff\x0f"),
        ("Synthesize", b"\x0a\x02\xc3\x28"),  # text = invalid UTF-8
        ("StreamSynthesize", b"\x0a\x05ab"),  # a string longer than the message
        ("CreateBroadcast", b"\x0a\x80\x80\x80\x80\x10"),  # a 4 GiB length prefix
        ("CreateGroup", b"\x0a\x50\x0a\x03abc"),  # a nested message cut short
        ("WatchBroadcast", b"\x0a\x02\xed\xa0"),  # UTF-16 surrogate, invalid in UTF-8
        ("GetBroadcast", b"\x0f"),  # field 1 with wire type 7, which does not exist
    ]
    return [
        Case(f"{method}: undecodable bytes {i}", method, _const(body), INVALID, "request")
        for i, (method, body) in enumerate(rows)
    ]


def _auth_cases() -> list[Case]:
    rows: list[tuple[str, str, Callable[[Context], Any], grpc.StatusCode, str, str]] = [
        ("no token", "ListGroups", lambda c: pb.ListGroupsRequest(), UNAUTH, "authorization", "none"),
        (
            "Basic scheme",
            "ListBroadcasts",
            lambda c: pb.ListBroadcastsRequest(),
            UNAUTH,
            "authorization",
            "basic",
        ),
        ("empty bearer", "CreateBroadcast", lambda c: bc(), UNAUTH, "authorization", "empty"),
        ("garbage token", "Synthesize", lambda c: synth(), UNAUTH, "token", "garbage"),
        ("unknown token", "CreateBroadcast", lambda c: bc(), UNAUTH, "token", "unknown"),
        ("revoked token", "CreateBroadcast", lambda c: bc(), UNAUTH, "revoked", "revoked"),
        (
            "expired token",
            "GetGroup",
            lambda c: pb.GetGroupRequest(group_id=GROUP),
            UNAUTH,
            "expired",
            "expired",
        ),
        ("viewer creates a broadcast", "CreateBroadcast", lambda c: bc(), DENIED, "publisher", "viewer"),
        ("viewer synthesizes", "Synthesize", lambda c: synth(), DENIED, "publisher", "viewer"),
        ("viewer creates a group", "CreateGroup", lambda c: grp(), DENIED, "admin", "viewer"),
        (
            "viewer cancels",
            "CancelBroadcast",
            lambda c: pb.CancelBroadcastRequest(broadcast_id=c.other_id),
            DENIED,
            "publisher",
            "viewer",
        ),
        (
            "publisher sends EMERGENCY",
            "CreateBroadcast",
            lambda c: bc(priority=pb.PRIORITY_EMERGENCY),
            DENIED,
            "EMERGENCY",
            "publisher",
        ),
        (
            "publisher sends priority 42",
            "CreateBroadcast",
            lambda c: bc(priority=UNKNOWN_ENUM),
            DENIED,
            "priority",
            "publisher",
        ),
        (
            "publisher outside its groups",
            "CreateBroadcast",
            lambda c: bc(group_ids=[GROUP, OTHER]),
            DENIED,
            "group_ids[1]",
            "publisher",
        ),
        (
            # NOT_FOUND as for an unknown id: a token cannot confirm another group's ids (#12)
            "publisher cancels outside its groups",
            "CancelBroadcast",
            lambda c: pb.CancelBroadcastRequest(broadcast_id=c.other_id),
            NOT_FOUND,
            "broadcast_id",
            "publisher",
        ),
        (
            "publisher deletes a group",
            "DeleteGroup",
            lambda c: pb.DeleteGroupRequest(group_id=OTHER),
            DENIED,
            "admin",
            "publisher",
        ),
        (
            "publisher updates a group",
            "UpdateGroup",
            lambda c: update(["name"], name="x"),
            DENIED,
            "admin",
            "publisher",
        ),
    ]
    return [
        Case(f"auth: {name}", m, request, code, word, caller) for name, m, request, code, word, caller in rows
    ]


CASES: list[Case] = (
    _text_cases()
    + _synthesis_cases()
    + _broadcast_cases()
    + _read_cases()
    + _group_cases()
    + _raw_cases()
    + _auth_cases()
)


# -- running ---------------------------------------------------------------------------------------------


def prepare(state_dir: Any, admin: Any) -> Context:
    """Groups, tokens and broadcasts the cases refer to. ``admin`` is an engine.api.client.Client."""
    md = admin.metadata
    for group_id, address, extra in (
        (GROUP, "239.192.40.1", {}),
        (OTHER, "239.192.40.2", {}),
        ("corpus-busy", "239.192.40.3", {}),
        (EMERGENCY_GROUP, "239.192.40.4", {"emergency": True}),
    ):
        admin.groups.CreateGroup(grp(group_id, address, **extra), metadata=md)
    later = ts(time.time() + 86400)
    admin.broadcasts.CreateBroadcast(
        bc(idempotency_key="corpus-key", start_time=later, group_ids=["corpus-busy"]), metadata=md
    )
    other = admin.broadcasts.CreateBroadcast(bc(group_ids=[OTHER], start_time=later), metadata=md)
    cancelled = admin.broadcasts.CreateBroadcast(bc(start_time=later), metadata=md)
    admin.broadcasts.CancelBroadcast(pb.CancelBroadcastRequest(broadcast_id=cancelled.id), metadata=md)
    page = admin.broadcasts.ListBroadcasts(pb.ListBroadcastsRequest(page_size=1), metadata=md)
    ctx = Context(cancelled_id=cancelled.id, other_id=other.id, page_token=page.next_page_token)
    with TokenStore.in_state_dir(state_dir) as tokens:
        viewer, _ = tokens.create("corpus viewer", "viewer")
        publisher, _ = tokens.create("corpus publisher", "publisher", [GROUP])
        revoked, info = tokens.create("corpus revoked", "admin")
        tokens.revoke(info.id)
    with TokenStore(tokens.path, clock=lambda: time.time() - 3600) as past:
        expired, _ = past.create("corpus expired", "admin", expires_at=time.time() - 60)
    ctx.tokens = {
        "admin": dict(md)["authorization"],
        "viewer": f"Bearer {viewer}",
        "publisher": f"Bearer {publisher}",
        "revoked": f"Bearer {revoked}",
        "expired": f"Bearer {expired}",
        "basic": "Basic YWRtaW46YWRtaW4=",
        "empty": "Bearer ",
        "garbage": "Bearer not-a-token",
        "unknown": "Bearer loa_" + "0" * 16 + "_" + "A" * 43,
    }
    return ctx


@dataclass(frozen=True)
class Result:
    case: Case
    code: grpc.StatusCode
    details: str
    healthy: bool  # grpc.health SERVING right after
    next_ok: bool  # a good request right after was served

    @property
    def passed(self) -> bool:
        return (
            self.code == self.case.code and self.case.field in self.details and self.healthy and self.next_ok
        )

    def describe(self) -> str:
        return (
            f"{self.case.name}: got {self.code.name} {self.details[:160]!r}, want {self.case.code.name} "
            f"naming {self.case.field!r}; healthy={self.healthy} next_ok={self.next_ok}"
        )


def run(channel: grpc.Channel, ctx: Context, case: Case, timeout: float = 60.0) -> Result:
    """Sends one case; then asks grpc.health and sends a good Normalize."""
    path, streaming = METHODS[case.method]
    serialize: Callable[[Any], bytes] = lambda m: m if isinstance(m, bytes) else m.SerializeToString()  # noqa: E731
    keep: Callable[[bytes], bytes] = lambda b: b  # noqa: E731
    token = ctx.tokens.get(case.caller)
    metadata = (("authorization", token),) if token is not None else ()
    request = case.request(ctx)
    code, details = Code.OK, ""
    try:
        if streaming:
            for _ in channel.unary_stream(path, serialize, keep)(request, metadata=metadata, timeout=timeout):
                pass
        else:
            channel.unary_unary(path, serialize, keep)(request, metadata=metadata, timeout=timeout)
    except grpc.RpcError as exc:
        code, details = exc.code(), exc.details() or ""
    del request
    try:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        healthy = health.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        healthy = False
    try:
        good = channel.unary_unary(METHODS[N][0], serialize, pb.NormalizeResponse.FromString)(
            pb.NormalizeRequest(text="Xin chào bà con."),
            metadata=(("authorization", ctx.tokens["admin"]),),
            timeout=10,
        )
        next_ok = bool(good.normalized_text)
    except grpc.RpcError:
        next_ok = False
    return Result(case, code, details, healthy, next_ok)
