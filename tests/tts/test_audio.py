"""48 kHz output, one loudness for a whole bulletin, pauses, chime."""

from __future__ import annotations

import numpy as np
import pytest

from engine.tts import audio


def tone(hz: float, seconds: float, rate: int, amplitude: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("rate", [16_000, 22_050, 24_000, 48_000])
def test_resample_to_48k_keeps_duration_and_pitch(rate: int) -> None:
    out = audio.resample(tone(440, 1.0, rate), rate)
    assert out.dtype == np.float32
    assert out.size == 48_000
    spectrum = np.abs(np.fft.rfft(out))
    assert np.fft.rfftfreq(out.size, 1 / 48_000)[np.argmax(spectrum)] == pytest.approx(440, abs=2)


def test_loudness_matches_bs1770_reference_tone() -> None:
    # BS.1770: a 997 Hz sine at full scale reads -3.01 LUFS; -20 dB of it reads -23.01.
    assert audio.loudness(tone(997, 3.0, 48_000, amplitude=1.0)) == pytest.approx(-3.01, abs=0.05)
    assert audio.loudness(tone(997, 3.0, 48_000, amplitude=0.1)) == pytest.approx(-23.01, abs=0.05)
    # silence between words does not drag the reading down (gating)
    gappy = np.concatenate([tone(997, 2.0, 48_000), np.zeros(96_000, np.float32), tone(997, 2.0, 48_000)])
    assert audio.loudness(gappy) == pytest.approx(-23.01, abs=0.5)


def test_one_gain_for_the_whole_bulletin_keeps_relative_levels() -> None:
    quiet, loud = tone(300, 1.0, 48_000, 0.05), tone(300, 1.0, 48_000, 0.2)
    gain = audio.gain_for(audio.loudness(np.concatenate([quiet, loud])), -16.0)
    out_quiet, out_loud = audio.apply_gain(quiet, gain), audio.apply_gain(loud, gain)
    # per-sentence peak normalization would make these equal; one gain keeps the 12 dB difference
    ratio = np.sqrt(np.mean(out_loud**2) / np.mean(out_quiet**2))
    assert ratio == pytest.approx(4.0, rel=0.02)


def test_gain_reaches_target_and_limiter_stops_clipping() -> None:
    speechlike = tone(200, 2.0, 48_000, 0.02)
    gain = audio.gain_for(audio.loudness(speechlike), -16.0)
    assert audio.loudness(audio.apply_gain(speechlike, gain)) == pytest.approx(-16.0, abs=0.2)
    hot = audio.apply_gain(tone(200, 1.0, 48_000, 0.9), 4.0)
    assert np.max(np.abs(hot)) <= 10 ** (-1 / 20) + 1e-6
    assert audio.gain_for(-70.0) == 1.0  # silence is not amplified


def test_chime_and_pause() -> None:
    chime = audio.chime()
    assert 1.0 < chime.size / 48_000 < 2.5
    assert audio.loudness(chime) == pytest.approx(audio.DEFAULT_TARGET_LUFS - 3, abs=0.5)
    assert audio.silence(0.3).size == 14_400 and not audio.silence(0.3).any()
    with pytest.raises(ValueError):
        audio.silence(-1)
