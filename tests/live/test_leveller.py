"""The live loudness control: a quiet or loud station comes out at the broadcast loudness, unclipped."""

from __future__ import annotations

import numpy as np
import pytest

from engine.live.leveller import Leveller
from engine.tts.audio import DEFAULT_TARGET_LUFS, PEAK_CEILING, loudness, true_peaks

RATE = 48_000


def programme(seconds: float, level_db: float, seed: int = 1) -> np.ndarray:
    """Speech-like: noise bursts with pauses, at ``level_db`` relative to full-scale noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    noise = rng.standard_normal(n).astype(np.float32) * 0.25
    envelope = (np.sin(np.arange(n) * 2 * np.pi * 2.5 / RATE) > -0.3).astype(np.float32)
    return noise * envelope * np.float32(10 ** (level_db / 20))


def run(leveller: Leveller, x: np.ndarray, piece: int = 960) -> np.ndarray:
    out = [leveller.process(x[i : i + piece]) for i in range(0, x.size, piece)]
    return np.concatenate([*out, leveller.flush()])


@pytest.mark.parametrize("level_db", [-24.0, 0.0, 12.0])
def test_a_station_at_any_level_comes_out_near_the_target_and_under_the_ceiling(level_db: float) -> None:
    x = programme(12.0, level_db)
    y = run(Leveller(), x)
    assert y.size == x.size
    settled = y[6 * RATE :]
    assert loudness(settled) == pytest.approx(DEFAULT_TARGET_LUFS, abs=3.0)
    assert float(true_peaks(y).max()) <= PEAK_CEILING * 1.02


def test_silence_does_not_pump_the_gain_up() -> None:
    leveller = Leveller()
    run(leveller, programme(3.0, -6.0))
    run(leveller, np.zeros(RATE // 2, np.float32))  # the last blocks that still hold programme
    before = leveller.wanted_db
    assert before is not None
    run(leveller, np.zeros(5 * RATE, np.float32))
    assert leveller.wanted_db == before


def test_pieces_of_any_size_give_what_the_whole_stream_limited_at_once_gives() -> None:
    x = programme(2.0, 20.0)  # driven hard into the limiter
    a, b = Leveller(), Leveller()
    ya, yb = run(a, x, 960), run(b, x, 4801)
    np.testing.assert_allclose(ya, yb, atol=2e-3)
    assert float(true_peaks(ya).max()) <= PEAK_CEILING * 1.02
