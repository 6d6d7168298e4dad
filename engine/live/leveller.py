"""A live loudness control: a slow automatic gain toward the broadcast loudness target, then the same
true-peak limiter the synthesizer's audio goes through (engine/tts/audio.py), so a relayed station
sounds as loud as a bulletin and never clips, whatever its own level and however it drifts.

- Measure: BS.1770 K-weighted mean square over 400 ms blocks every 100 ms; blocks under GATE_LUFS
  (pauses, silence, a dead carrier) are ignored, so silence never pumps the gain up.
- Steer: the short-term loudness (the gated blocks' power averaged over SHORT_TERM_S) sets the wanted
  gain (clamped to MIN_GAIN_DB..MAX_GAIN_DB); the applied gain moves toward it at most SLEW_DB_PER_S,
  ramped sample by sample. The first measured block sets the gain at once (the station's level is
  unknown until then).
- Limit: engine.tts.audio.limit over the stream with LIMITER_CONTEXT samples of context either side of
  each piece, so the output equals limiting the whole stream at once; that costs LIMITER_CONTEXT of
  latency (21 ms).
"""

from __future__ import annotations

import math

import numpy as np

from engine.tts.audio import DEFAULT_TARGET_LUFS, _k_impulse, _k_weighted, limit

RATE = 48_000
BLOCK = int(0.4 * RATE)
STEP = int(0.1 * RATE)
GATE_LUFS = -50.0
SHORT_TERM_S = 3.0
SLEW_DB_PER_S = 2.0
MIN_GAIN_DB = -20.0
MAX_GAIN_DB = 20.0
LIMITER_CONTEXT = 1024  # > the limiter's 480-sample reach plus the true-peak resampler's filter


class Leveller:
    def __init__(self, target_lufs: float = DEFAULT_TARGET_LUFS) -> None:
        self.target_lufs = target_lufs
        self.gain_db = 0.0
        self._wanted_db: float | None = None
        self._power: float | None = None  # short-term gated mean square
        self._k_hist = np.zeros(_k_impulse().size - 1)  # input history for the K-weighting FIR
        self._squares = np.zeros(0)  # K-weighted squares not yet in a full step
        self._blocks: list[float] = []  # mean squares of the last 4 steps (a 400 ms block)
        self._hist = np.zeros(0, np.float32)  # output already handed out: the limiter's left context
        self._held = np.zeros(0, np.float32)  # gained, not yet limited: the limiter's right context

    @property
    def wanted_db(self) -> float | None:
        """The gain the measurements ask for (None before the first block above the gate)."""
        return self._wanted_db

    @property
    def latency(self) -> int:
        return LIMITER_CONTEXT

    def process(self, pcm: np.ndarray) -> np.ndarray:
        """Levelled audio, ``latency`` samples behind the input (the same total length in the end)."""
        x = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if x.size == 0:
            return x
        self._measure(x)
        gained = x * self._ramp(x.size)
        return self._limit(gained, final=False)

    def flush(self) -> np.ndarray:
        """The held samples (at the end of the stream)."""
        return self._limit(np.zeros(0, np.float32), final=True)

    def _measure(self, x: np.ndarray) -> None:
        joined = np.concatenate([self._k_hist, x.astype(np.float64)])
        weighted = _k_weighted(joined)[self._k_hist.size :]
        self._k_hist = joined[-self._k_hist.size :]
        self._squares = np.concatenate([self._squares, np.square(weighted)])
        while self._squares.size >= STEP:
            self._blocks = [*self._blocks[-3:], float(self._squares[:STEP].mean())]
            self._squares = self._squares[STEP:]
            if len(self._blocks) == 4:
                self._update(sum(self._blocks) / 4)

    def _update(self, power: float) -> None:
        if -0.691 + 10 * math.log10(max(power, 1e-12)) < GATE_LUFS:
            return
        alpha = STEP / (SHORT_TERM_S * RATE)
        self._power = power if self._power is None else self._power + (power - self._power) * alpha
        lufs = -0.691 + 10 * math.log10(self._power)
        wanted = min(MAX_GAIN_DB, max(MIN_GAIN_DB, self.target_lufs - lufs))
        if self._wanted_db is None:
            self.gain_db = wanted  # the first measurement: the station's level was unknown
        self._wanted_db = wanted

    def _ramp(self, n: int) -> np.ndarray:
        start = self.gain_db
        if self._wanted_db is not None:
            most = SLEW_DB_PER_S * n / RATE
            self.gain_db = start + max(-most, min(most, self._wanted_db - start))
        db = np.linspace(start, self.gain_db, n, endpoint=False, dtype=np.float64)
        return np.power(10.0, db / 20).astype(np.float32)

    def _limit(self, gained: np.ndarray, final: bool) -> np.ndarray:
        window = np.concatenate([self._hist, self._held, gained])
        keep = 0 if final else min(LIMITER_CONTEXT, window.size - self._hist.size)
        end = window.size - keep
        out = limit(window)[self._hist.size : end]
        self._hist = window[max(0, end - LIMITER_CONTEXT) : end]
        self._held = window[end:]
        return out
