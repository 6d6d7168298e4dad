"""Opus through libopus (FEC and PLC included), the SDP a third-party receiver reads, and group specs."""

from __future__ import annotations

import numpy as np
import pytest

from streaming.opus import OpusDecoder, OpusEncoder, OpusSettings, encode_pcm, encoder_lookahead
from streaming.priority import Priority
from streaming.sdp import EncryptedGroup, GroupSpec, build_sdp, parse_sdp_group


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced harmonics with a wandering pitch and syllable-rate envelope, plus a little breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(48_000 * seconds)) / 48_000
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 48_000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 15))
    envelope = (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
    return (0.2 * voiced * envelope + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def _similarity(source: np.ndarray, decoded: np.ndarray, lag: int) -> float:
    n = min(len(source), len(decoded) - lag) - 2000
    return float(np.corrcoef(source[1000:n], decoded[lag + 1000 : lag + n])[0, 1])


def _best_similarity(source: np.ndarray, decoded: np.ndarray) -> float:
    return max(_similarity(source, decoded, lag) for lag in range(250, 340, 2))


def test_round_trip_sounds_like_the_source() -> None:
    source = speech_like(2.0)
    packets = encode_pcm(source)
    assert len(packets) == 101  # 100 frames + one to flush the look-ahead
    assert 24_000 < np.mean([len(p) for p in packets]) * 8 * 50 < 40_000
    decoder = OpusDecoder()
    decoded = np.concatenate([decoder.decode(p) for p in packets])
    assert encoder_lookahead(OpusSettings()) == 312
    assert _best_similarity(source, decoded) > 0.7


def test_fec_recovers_a_lost_frame_better_than_concealment() -> None:
    source = speech_like(3.0)
    packets = encode_pcm(source, OpusSettings(fec=True, expected_loss_percent=5))

    def receive(use_fec: bool) -> np.ndarray:
        decoder, out = OpusDecoder(), []
        for i, packet in enumerate(packets):
            if i % 10 == 5:
                continue  # lost
            if i % 10 == 6:
                out.append(decoder.recover(packet) if use_fec else decoder.conceal())
            out.append(decoder.decode(packet))
        return np.concatenate(out)

    assert _best_similarity(source, receive(True)) > _best_similarity(source, receive(False)) + 0.01


def test_codec_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="bitrate"):
        OpusSettings(bitrate=1000)
    with pytest.raises(ValueError, match="complexity"):
        OpusSettings(complexity=11)
    with pytest.raises(ValueError, match="bandwidth"):
        OpusSettings(bandwidth="ultra")
    with pytest.raises(ValueError, match="960"):
        OpusEncoder().encode(np.zeros(480, np.float32))
    with pytest.raises(ValueError, match="mono"):
        encode_pcm(np.zeros((2, 960), np.float32))
    with pytest.raises(ValueError, match="float"):
        encode_pcm(np.zeros(960, np.int16))
    with pytest.raises(ValueError, match="NaN"):
        encode_pcm(np.full(960, np.nan, np.float32))
    with pytest.raises(ValueError, match="Opus"):
        OpusDecoder().decode(b"")
    assert OpusDecoder().conceal().shape == (960,)


def test_group_spec_parsing() -> None:
    assert GroupSpec.parse("239.1.2.3:5004") == GroupSpec("239.1.2.3", 5004, Priority.NORMAL, 500)
    emergency = GroupSpec("239.1.2.3", 5004, Priority.EMERGENCY, 300)
    assert GroupSpec.parse("239.1.2.3:5004:emergency:300") == emergency
    assert GroupSpec.parse("239.1.2.3:5004:2") == GroupSpec("239.1.2.3", 5004, Priority.HIGH, 500)
    for bad, message in [
        ("239.1.2.3", "expected"),
        ("239.1.2.300:5004", "address"),
        ("239.1.2.3:x", "port"),
        ("239.1.2.3:65535", "port"),
        ("239.1.2.3:5004:urgent", "priority"),
        ("239.1.2.3:5004:1:5", "delay"),
    ]:
        with pytest.raises(ValueError, match=message):
            GroupSpec.parse(bad)


def test_sdp_describes_the_group_for_rfc7587_receivers() -> None:
    group = GroupSpec("239.10.0.1", 5004, Priority.EMERGENCY, 400)
    sdp = build_sdp(group, OpusSettings(bitrate=24_000), ttl=8, session_id=42)
    lines = sdp.split("\r\n")
    assert lines[0] == "v=0" and sdp.endswith("\r\n")
    for expected in (
        "c=IN IP4 239.10.0.1/8",
        "m=audio 5004 RTP/AVP 96",
        "a=rtpmap:96 opus/48000/2",
        "a=ts-refclk:ntp=/traceable/",
        "a=mediaclk:sender",
        "a=x-loa-playout-delay:400",
    ):
        assert expected in lines
    assert "useinbandfec=1" in sdp and "maxaveragebitrate=24000" in sdp
    assert parse_sdp_group(sdp) == group
    with pytest.raises(ValueError):
        build_sdp(group, ttl=300)
    with pytest.raises(ValueError):
        parse_sdp_group("v=0\r\n")


def test_sdp_advertises_fec_only_when_the_group_uses_it_and_refuses_srtp() -> None:
    group = GroupSpec("239.10.0.5", 5004)
    assert "useinbandfec=1" in build_sdp(group, OpusSettings(fec=True))
    assert "useinbandfec=0" in build_sdp(group, OpusSettings(fec=False))
    # an SRTP stream has no description a third-party receiver could use: a plain one would play noise
    with pytest.raises(EncryptedGroup, match=r"RFC 7714.*cannot decrypt"):
        build_sdp(group, OpusSettings(), srtp=True)
