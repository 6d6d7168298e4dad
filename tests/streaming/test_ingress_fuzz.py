"""Fuzzing the speaker's packet path (streaming/ingress.py: SRTP check, RTP/RTCP parsing, jitter buffers,
decoding): random and mutated datagrams never raise, never hang, and never grow state without bound."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming import rtcp
from streaming.clock import ntp_from_wall
from streaming.ingress import OUTCOMES, Ingress
from streaming.jitter import MAX_BUFFERED
from streaming.keyring import Keyring
from streaming.opus import OpusEncoder, OpusSettings
from streaming.playout import HOLD_FRAMES, MAX_PENDING, MAX_STREAMS, Playout
from streaming.provisioning import dump_provisioning
from streaming.rtp import PAYLOAD_TYPE, RtpPacket
from streaming.sdp import GroupSpec
from streaming.srtp import MasterKey, SrtpSession

GROUP = GroupSpec("239.9.0.1", 5004)
LABEL = "239.9.0.1:5004"
KEY = MasterKey.generate(7)
FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

_dir = tempfile.TemporaryDirectory()
KEYS_FILE = Path(_dir.name) / "keys.json"
KEYS_FILE.write_text(dump_provisioning({"g": [KEY]}, {"g": LABEL}))


def _opus_frames(n: int) -> list[bytes]:
    encoder = OpusEncoder(OpusSettings())
    t = np.arange(960 * n) / 48_000
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return [encoder.encode(pcm[i * 960 : (i + 1) * 960]) for i in range(n)]


FRAMES = _opus_frames(8)


def _genuine(ssrc: int = 0x1234) -> list[bytes]:
    """A short plain stream: a sender report, then 8 RTP packets."""
    sr = rtcp.serialize(rtcp.SenderReport(ssrc, ntp_from_wall(1000.0), 5000, 0, 0))
    rtp = [RtpPacket(PAYLOAD_TYPE, 10 + i, 5000 + 960 * i, ssrc, f).serialize() for i, f in enumerate(FRAMES)]
    return [sr, *rtp]


def _ingress(keyed: bool) -> Ingress:
    if keyed:
        return Ingress(Playout([GROUP], sr_tolerance=5.0), Keyring(KEYS_FILE, [LABEL]))
    return Ingress(Playout([GROUP]))


def _drive(ingress: Ingress, datagrams: list[bytes]) -> list[str]:
    outcomes = []
    for i, data in enumerate(datagrams):
        outcomes.append(ingress.receive(LABEL, data, 1000.0 + i * 0.02))
        if i % 4 == 0:  # decoding runs in the playout thread: exercise it on whatever got in
            ingress.playout.render(int((1000.4 + i * 0.02) * 48_000), 0.0)  # 100 ms behind arrivals
    return outcomes


rtp_like = st.builds(
    lambda flags, pt, seq, ts, ssrc, payload: struct.pack("!BBHII", flags, pt, seq, ts, ssrc) + payload,
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF_FFFF),
    st.integers(0, 0xFFFF_FFFF),
    st.binary(max_size=300),
)
rtcp_like = st.builds(
    lambda flags, pt, length, body: struct.pack("!BBH", flags, pt, length) + body,
    st.integers(0, 255),
    st.integers(200, 204),
    st.integers(0, 0xFFFF),
    st.binary(max_size=200),
)
datagram = st.one_of(st.binary(max_size=1500), rtp_like, rtcp_like)


@FUZZ
@given(st.lists(datagram, max_size=40), st.booleans())
def test_random_datagrams_never_raise(datagrams: list[bytes], keyed: bool) -> None:
    ingress = _ingress(keyed)
    outcomes = _drive(ingress, datagrams)
    assert set(outcomes) <= set(OUTCOMES)
    if keyed:  # nothing without the key gets past SRTP
        assert not {"ok", "rtcp", "duplicate", "late", "overflow"} & set(outcomes)
        assert not ingress.playout.streams


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=6)
)
def test_mutated_genuine_srtp_is_refused_and_the_stream_still_plays(
    flips: list[tuple[int, int, int]],
) -> None:
    sender = SrtpSession([KEY])
    genuine = [sender.protect_rtcp(d) if i == 0 else sender.protect(d) for i, d in enumerate(_genuine())]
    ingress = _ingress(True)
    mutated = []
    for which, at, xor in flips:
        data = bytearray(genuine[which])
        data[at % len(data)] ^= xor or 1
        mutated.append(bytes(data[: max(1, len(data) - at // 400)]))  # and sometimes cut short
    outcomes = _drive(ingress, mutated)
    assert all(o.startswith("rejected_") for o in outcomes), outcomes
    assert _drive(ingress, genuine) == ["rtcp"] + ["ok"] * 8  # forgeries moved no replay window


def test_thousands_of_ssrcs_and_timestamps_keep_state_bounded() -> None:
    plain = _ingress(False)
    rng = np.random.default_rng(3)
    for i in range(5000):  # a flood of new plain streams, each with its own sender report
        ssrc = int(rng.integers(0, 2**32))
        plain.receive(LABEL, _genuine(ssrc)[0], 1000.0 + i * 1e-3)
        plain.receive(LABEL, _genuine(ssrc)[1], 1000.0 + i * 1e-3)
    assert len(plain.playout.streams) <= MAX_STREAMS and plain.playout.evicted >= 5000 - MAX_STREAMS
    # one SSRC, random timestamps, and no sender report (so nothing ever plays and drains the buffer)
    outcomes = [
        plain.receive(
            LABEL,
            RtpPacket(PAYLOAD_TYPE, i & 0xFFFF, int(rng.integers(0, 2**32)), 99, FRAMES[0]).serialize(),
            2000.0,
        )
        for i in range(MAX_BUFFERED + 500)
    ]
    assert outcomes.count("overflow") >= 500 - outcomes.count("duplicate")
    assert len(plain.playout.streams[99]._packets) <= MAX_BUFFERED
    # keyed: forged packets with fresh SSRCs never create SRTP state; genuine ones are capped
    keyed = _ingress(True)
    session = keyed.keyring.sessions[LABEL] if keyed.keyring else None
    assert session is not None
    thief = SrtpSession([MasterKey.generate(7)])
    for i in range(3000):
        forged = RtpPacket(PAYLOAD_TYPE, 1, 960, int(rng.integers(0, 2**32)), FRAMES[0]).serialize()
        assert keyed.receive(LABEL, thief.protect(forged), 3000.0 + i) == "rejected_authentication"
    assert len(session._rx) == 0 and not keyed.playout.streams
    # genuine SRTP with fresh SSRCs but no sender report (a replay with its reports filtered out, say):
    # SRTP state is capped, and playout holds a few packets of a few SSRCs, with no stream or decoder
    sender = SrtpSession([KEY])
    for i in range(1500):
        packet = RtpPacket(PAYLOAD_TYPE, 1 + i % 40, 960 * (i % 40), 100_000 + i // 40, FRAMES[0]).serialize()
        assert keyed.receive(LABEL, sender.protect(packet), 4000.0 + i * 1e-3) == "held"
    assert len(session._rx) <= 1024 and not keyed.playout.streams
    assert len(keyed.playout.pending) <= MAX_PENDING
    assert all(len(p.held) <= HOLD_FRAMES for p in keyed.playout.pending.values())
    held = sum(len(p.held) for p in keyed.playout.pending.values())
    assert keyed.playout.unverified + held == 1500  # every packet is held or counted as dropped
