"""Broadcast audio keeps the headroom real libopus needs: decoded at the speakers, no sample at full scale.

Peaks used to be cut to -1 dBFS by a waveshaper; Opus put the flattened tops back higher and a speaker
recorded 329 full-scale samples in 71 s (#13). Figures: bench/bench_opus_headroom.py, bench/README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from engine.tts import audio
from engine.tts.synthesizer import SpeechRequest, Synthesizer
from engine.tts.voices.registry import VoiceRegistry
from streaming.opus import OpusDecoder, OpusSettings, encode_pcm

BITRATES = (16_000, 24_000, 32_000, 64_000)  # the group bitrates in use, and the default 32 kb/s
RATE = audio.OUTPUT_RATE
VI = (
    "Ủy ban nhân dân xã thông báo: từ ngày 15 tháng 6, toàn bộ 1.250 hộ dân tại ấp 3 sẽ bị cắt điện "
    "từ 7 giờ đến 17 giờ để bảo trì trạm biến áp. Đề nghị bà con chủ động sắp xếp công việc!"
)
EN = "Attention please. The water supply will be cut tomorrow from seven until five. Thank you!"


def decoded(pcm: np.ndarray, bitrate: int) -> np.ndarray:
    decoder = OpusDecoder()
    return np.concatenate([decoder.decode(p) for p in encode_pcm(pcm, OpusSettings(bitrate=bitrate))])


@pytest.fixture(scope="module")
def speech(joe_model: Path) -> Iterator[dict[str, np.ndarray]]:
    voices = VoiceRegistry(intra_op_threads=1)
    voices.add_model(joe_model)
    with Synthesizer(voices, workers=1, registry=CollectorRegistry()) as synth:
        yield {
            voice: synth.synthesize(SpeechRequest(text, language=lang, voice_id=voice, chime=True)).audio
            for voice, text, lang in (
                ("espeak-vi-south", VI, "vi"),
                ("espeak-vi", VI, "vi"),
                ("en_US-joe-medium", EN, "en"),
            )
        }


def test_the_limiter_holds_true_peaks_at_the_ceiling_without_flattening_them() -> None:
    t = np.arange(RATE) / RATE
    hot = audio.apply_gain(np.sin(2 * np.pi * 200 * t).astype(np.float32), 4.0)  # +12 dB too loud
    assert float(audio.true_peaks(hot).max()) <= audio.PEAK_CEILING * 1.001
    assert float(audio.true_peaks(hot).max()) >= audio.PEAK_CEILING * 0.98  # as loud as allowed
    # a gain rider keeps a sine a sine: nothing above the 200 Hz tone but a few tenths of a percent
    spectrum = np.abs(np.fft.rfft(hot[RATE // 4 :] * np.hanning(hot.size - RATE // 4)))
    freqs = np.fft.rfftfreq(hot.size - RATE // 4, 1 / RATE)
    assert spectrum[freqs > 300].max() < 0.003 * spectrum.max()
    quiet = np.sin(2 * np.pi * 200 * t).astype(np.float32) * 0.1
    assert np.array_equal(audio.limit(quiet), quiet)  # below the ceiling nothing changes


def test_decoded_speech_never_reaches_full_scale(speech: dict[str, np.ndarray]) -> None:
    for voice, pcm in speech.items():
        assert float(audio.true_peaks(pcm).max()) <= audio.PEAK_CEILING * 1.001, voice
        for bitrate in BITRATES:
            out = decoded(pcm, bitrate)
            peak_db = 20 * np.log10(float(np.max(np.abs(out))))
            assert peak_db < -0.5, (voice, bitrate, peak_db)  # measured worst: -1.2 dBFS


def test_decoded_loud_test_signals_never_reach_full_scale() -> None:
    t = np.arange(2 * RATE) / RATE
    rng = np.random.default_rng(1)
    signals = {
        "sine 3 kHz": np.sin(2 * np.pi * 3000 * t),
        "white noise": rng.uniform(-1, 1, t.size),
        "sweep 50 Hz-8 kHz": np.sin(2 * np.pi * (50 * t + (8000 - 50) / 4 * t**2)),
    }
    loud = {name: audio.apply_gain(np.asarray(x, np.float32), 4.0) for name, x in signals.items()}
    loud["chime"] = audio.chime()  # as it airs; 12 dB hotter it still decodes at -0.1 dBFS
    for name, pcm in loud.items():  # the others driven 12 dB into the limiter
        for bitrate in BITRATES:
            out = decoded(pcm, bitrate)
            assert int(np.sum(np.abs(out) >= 1.0)) == 0, (name, bitrate)
            assert float(np.max(np.abs(out))) < 10 ** (-0.3 / 20), (name, bitrate)
