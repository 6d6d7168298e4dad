"""A stream rendered ahead (streaming/ahead.py) is, datagram for datagram, what the pacer sends live when
it is opened with the same SSRC, sequence, RTP time and start and fed the same Opus frames.

No network: the live pacer runs with an in-memory transport (the shape of the broker's)."""

from __future__ import annotations

import itertools
import secrets
import time

import numpy as np
import pytest

from streaming import rtcp
from streaming.ahead import Plan, Timed, render
from streaming.opus import OpusSettings, encode_pcm
from streaming.pacer import PacedSender
from streaming.packetizer import ABORT_RTCP_INDEX, Destination
from streaming.priority import Priority
from streaming.rtp import CLOCK_RATE, RtpPacket
from streaming.srtp import MasterKey, SrtpSession
from tests.streaming.test_transport import Recording

KEY = MasterKey.generate(3, not_before=time.time() - 60)


def _frames(seconds: float) -> list[bytes]:
    t = np.arange(int(seconds * CLOCK_RATE)) / CLOCK_RATE
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
    return encode_pcm(pcm, OpusSettings(complexity=3))


def _plan(start_in: float) -> Plan:
    return Plan(secrets.randbits(32), secrets.randbits(16), secrets.randbits(32), time.time() + start_in)


def _live(frames: list[bytes], plan: Plan, sr_interval: float, abort_after: float | None = None) -> Recording:
    recording = Recording()
    with PacedSender(transports=[recording], sr_interval=sr_interval) as sender:
        stream = sender.open_stream(
            [Destination("239.1.1.1", 5004, keys=lambda: [KEY])],
            OpusSettings(complexity=3),
            Priority.HIGH,
            "loa-test",
            plan.start_time,
            ("ap-1",),
            ssrc=plan.ssrc,
            seq0=plan.seq0,
            ts0=plan.ts0,
        )
        assert sender.groups_of(plan.ssrc) == ("ap-1",)
        stream.feed_encoded(frames[:10])  # in pieces, as an airing may feed it
        stream.feed_encoded(frames[10:])
        stream.finish()
        if abort_after is not None:
            time.sleep(abort_after)
            stream.abort()
        assert stream.wait(len(frames) * 0.02 + 3)
    return recording


def _rendered(frames: list[bytes], plan: Plan, sr_interval: float) -> list[Timed]:
    return render(
        frames,
        plan,
        Destination("239.1.1.1", 5004, keys=lambda: [KEY]),
        priority=Priority.HIGH,
        cname="loa-test",
        sr_interval=sr_interval,
    )


def test_the_rendered_stream_is_byte_identical_to_what_the_pacer_sends_live() -> None:
    frames = _frames(1.5)
    plan = _plan(0.4)
    rendered = _rendered(frames, plan, 0.2)
    live = _live(frames, plan, 0.2)
    rtp = [t.data for t in rendered if not t.rtcp]
    assert len(rtp) == len(frames)
    assert live.rtp["ap-1"] == rtp
    # the RTCP too (first SR, the jittered SRs, SR + BYE): same count, same SRTCP indexes, same bytes
    assert live.rtcp["ap-1"] == [t.data for t in rendered if t.rtcp]
    assert len(live.rtcp["ap-1"]) >= 1 + 1.5 / 0.2 - 1
    # and a speaker authenticates it: first SR before the first packet, BYE last, times in order
    speaker = SrtpSession([KEY])
    assert rendered[0].rtcp and rendered[-1].rtcp
    assert all(a.at <= b.at for a, b in itertools.pairwise(rendered))
    packets = [RtpPacket.parse(speaker.unprotect(t.data)) for t in rendered if not t.rtcp]
    assert [p.sequence for p in packets] == [(plan.seq0 + i) & 0xFFFF for i in range(len(frames))]
    assert [p.payload for p in packets] == frames
    assert {p.ssrc for p in packets} == {plan.ssrc}
    bye = rtcp.parse_compound(speaker.unprotect_rtcp(rendered[-1].data))
    assert any(isinstance(p, rtcp.Bye) for p in bye)


def test_each_rendered_datagram_is_due_at_its_media_time() -> None:
    frames = _frames(0.5)
    plan = _plan(5.0)
    speaker = SrtpSession([KEY])
    for t in _rendered(frames, plan, 0.5):
        if t.rtcp:
            continue
        packet = RtpPacket.parse(speaker.unprotect(t.data))
        offset = (packet.timestamp - plan.ts0) & 0xFFFF_FFFF
        offset -= (1 << 32) if offset >= 1 << 31 else 0  # the first frame's look-ahead lies before ts0
        media = plan.start_time + offset / CLOCK_RATE
        assert media - 0.011 <= t.at <= media  # the pacer's spread: up to 10 ms early, never late


def test_an_exact_stream_fed_late_sends_its_frames_unchanged_never_moved() -> None:
    frames = _frames(0.6)
    plan = _plan(-0.2)  # started 200 ms ago: its first ten frames are late
    live = _live(frames, plan, 0.2)
    assert live.rtp["ap-1"] == [t.data for t in _rendered(frames, plan, 0.2) if not t.rtcp]


def test_an_aborted_exact_streams_bye_takes_an_index_no_rendering_uses() -> None:
    frames = _frames(2.0)
    plan = _plan(0.1)
    rendered = _rendered(frames, plan, 0.2)
    live = _live(frames, plan, 0.2, abort_after=0.6)
    sent = live.rtcp["ap-1"]
    ahead = [t.data for t in rendered if t.rtcp]
    assert sent[:-1] == ahead[: len(sent) - 1]  # the reports before the cut are the rendering's
    assert sent[-1] not in ahead
    speaker = SrtpSession([KEY])
    for data in sent[:-1]:
        speaker.unprotect_rtcp(data)
    bye = speaker.unprotect_rtcp(sent[-1])
    assert any(isinstance(p, rtcp.Bye) for p in rtcp.parse_compound(bye))
    index = int.from_bytes(sent[-1][-8:-4], "big") & 0x7FFF_FFFF  # E bit + index before the 4-byte MKI
    assert index >= ABORT_RTCP_INDEX


def test_reproduction_parameters_go_together_and_in_range() -> None:
    with PacedSender(transports=[Recording()]) as sender:
        d = [Destination("239.1.1.1", 5004)]
        with pytest.raises(ValueError, match="go together"):
            sender.open_stream(d, start_time=time.time() + 1, groups=("ap-1",), ssrc=5)
        with pytest.raises(ValueError, match="start_time"):
            sender.open_stream(d, groups=("ap-1",), ssrc=5, seq0=1, ts0=2)
        with pytest.raises(ValueError, match="out of range"):
            sender.open_stream(d, start_time=time.time() + 1, groups=("ap-1",), ssrc=5, seq0=70000, ts0=2)
    with pytest.raises(ValueError):
        Plan(1 << 32, 0, 0, 1.0)
    with pytest.raises(ValueError, match="frames"):
        render([], _plan(1), Destination("239.1.1.1", 5004))
