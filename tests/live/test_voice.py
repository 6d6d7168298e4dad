"""engine/live/voice.py: a live voice's chunks decoded and resampled as one stream, bad chunks refused
naming the field, and a client that stops sending ends the feed as "client gone" (a gap in the log)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.live import voice
from engine.live.voice import CLIENT_GONE, VoiceDecoder, VoiceSession
from engine.tts.audio import resample


def test_chunked_pcm_comes_out_as_the_whole_resampled_at_once() -> None:
    rng = np.random.default_rng(1)
    pcm = (0.3 * rng.standard_normal(16_000) * 32767).astype("<i2")
    decoder = VoiceDecoder(voice.PCM, 16_000)
    out = np.concatenate([decoder.decode(pcm[i : i + 320].tobytes()) for i in range(0, pcm.size, 320)])
    whole = resample(pcm.astype(np.float32) / 32768, 16_000)
    delay = 16 * 3  # _HISTORY input samples at 16 kHz
    assert out.size == whole.size
    assert np.abs(out[delay:] - whole[: whole.size - delay]).max() < 1e-5  # no edge at any chunk


@pytest.mark.parametrize(
    ("kind", "rate", "chunk", "field"),
    [
        ("mp3", 16_000, b"\0\0", "header.format"),
        (voice.PCM, 44_100, b"\0\0", "header.sample_rate"),
        (voice.PCM, 16_000, b"\0\0\0", "audio"),  # half a sample
        (voice.PCM, 16_000, b"\0" * 6402, "audio"),  # over 200 ms
        (voice.PCM, 16_000, b"", "audio"),
        (voice.OPUS, 0, b"\xff" * 2000, "audio"),  # larger than any Opus packet
    ],
)
def test_bad_input_names_the_field(kind: str, rate: int, chunk: bytes, field: str) -> None:
    with pytest.raises(ValueError) as err:
        VoiceDecoder(kind, rate).decode(chunk)
    assert str(err.value).split(":")[0] == field


def test_a_client_that_stops_sending_ends_the_feed_as_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voice, "STALL_S", 0.3)
    session = VoiceSession()
    feed = session.feed()
    tone = (0.3 * np.sin(np.arange(960) / 10)).astype(np.float32)

    def talk() -> None:  # 0.4 s of voice, then nothing (the network dropped; gRPC has not noticed)
        for _ in range(20):
            session.write(tone)
            time.sleep(0.02)

    threading.Thread(target=talk, daemon=True).start()
    started = time.monotonic()
    chunks = list(feed.chunks())
    assert time.monotonic() - started < 2.0
    assert session.ended == CLIENT_GONE and feed.end_reason == CLIENT_GONE
    (gap,) = feed.gaps
    assert gap.cause == CLIENT_GONE and 0.2 < gap.length_s < 0.6
    assert sum(c.size for c in chunks) >= 20 * 960


def test_a_new_feed_after_a_cut_starts_at_the_present() -> None:
    session = VoiceSession()
    first = session.feed()
    session.write(np.ones(4800, np.float32))
    first.close()  # cut: what is said until the resume is not aired later
    session.write(np.ones(4800, np.float32))
    second = session.feed()
    assert second.buffer.buffered_s == 0.0


def test_opus_packets_decode_to_48_khz_one_frame_each() -> None:
    from streaming.opus import OpusEncoder

    encoder = OpusEncoder()
    decoder = VoiceDecoder(voice.OPUS, 0)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(960 * 10) / 48_000)).astype(np.float32)
    out = np.concatenate(
        [decoder.decode(encoder.encode(tone[i : i + 960])) for i in range(0, tone.size, 960)]
    )
    assert out.size == tone.size and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out[4800:]))
    assert abs(np.argmax(spectrum) * 48_000 / 4800 - 440) <= 10
