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


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 24_000, 44_100])
@pytest.mark.parametrize("length", [1, 7, 1_000, 50_001])
def test_resample_equals_scipy_resample_poly(rate: int, length: int) -> None:
    signal = pytest.importorskip("scipy.signal")
    from fractions import Fraction

    noise = (np.random.default_rng(length).standard_normal(length) * 0.3).astype(np.float32)
    ratio = Fraction(48_000, rate)
    expected = signal.resample_poly(noise, ratio.numerator, ratio.denominator)
    got = audio.resample(noise, rate)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_k_weighting_equals_scipy_lfilter() -> None:
    signal = pytest.importorskip("scipy.signal")
    noise = np.random.default_rng(3).standard_normal(48_000 * 3)
    expected = signal.lfilter(
        audio._HIGHPASS_B, audio._HIGHPASS_A, signal.lfilter(audio._SHELF_B, audio._SHELF_A, noise)
    )
    np.testing.assert_allclose(audio._k_weighted(noise), expected, atol=1e-9)


def test_no_scipy_import_at_run_time() -> None:
    import subprocess
    import sys

    code = "import sys, engine.tts.synthesizer; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
