"""Voice output → broadcast audio: 48 kHz, one loudness for the whole bulletin, pauses, a chime.

Piper normalizes every sentence to full-scale peak, so loud and quiet sentences come out alike and
one bulletin jumps in level. Here each voice gets one fixed gain, measured once (ITU-R BS.1770
loudness of a calibration text) against the broadcast target, and every piece of every bulletin
from that voice gets the same gain; a soft limiter only touches peaks above -1 dBFS.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import numpy as np
from scipy.signal import lfilter, resample_poly

OUTPUT_RATE = 48_000
DEFAULT_TARGET_LUFS = -16.0  # public-address speech: louder than EBU R128's -23 for TV
_PEAK_CEILING = 10 ** (-1.0 / 20)  # -1 dBFS

# BS.1770-4 K-weighting at 48 kHz: a high shelf, then a high-pass.
_SHELF_B = (1.53512485958697, -2.69169618940638, 1.19839281085285)
_SHELF_A = (1.0, -1.69065929318241, 0.73248077421585)
_HIGHPASS_B = (1.0, -2.0, 1.0)
_HIGHPASS_A = (1.0, -1.99004745483398, 0.99007225036621)


def resample(audio: np.ndarray, rate: int, target: int = OUTPUT_RATE) -> np.ndarray:
    """Polyphase resampling (22.05 kHz → 48 kHz is 320/147)."""
    audio = np.asarray(audio, dtype=np.float32)
    if rate == target or audio.size == 0:
        return audio
    ratio = Fraction(target, rate)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def loudness(audio: np.ndarray, rate: int = OUTPUT_RATE) -> float:
    """Integrated loudness in LUFS (BS.1770: K-weighting, 400 ms blocks, absolute and relative gates)."""
    if rate != OUTPUT_RATE:
        audio = resample(audio, rate)
    weighted = lfilter(_HIGHPASS_B, _HIGHPASS_A, lfilter(_SHELF_B, _SHELF_A, np.asarray(audio, np.float64)))
    block, step = int(0.4 * OUTPUT_RATE), int(0.1 * OUTPUT_RATE)
    if weighted.size < block:
        weighted = np.pad(weighted, (0, block - weighted.size))
    squares = np.square(weighted)
    running = np.concatenate([[0.0], np.cumsum(squares)])
    starts = np.arange(0, squares.size - block + 1, step)
    sums = (running[starts + block] - running[starts]) / block
    levels = -0.691 + 10 * np.log10(np.maximum(sums, 1e-12))
    gated = sums[levels > -70.0]
    if gated.size == 0:
        return -70.0
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10.0
    gated = gated[-0.691 + 10 * np.log10(gated) > relative]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def gain_for(measured_lufs: float, target_lufs: float = DEFAULT_TARGET_LUFS) -> float:
    """Linear gain that brings audio measured at ``measured_lufs`` to the target (silence: unity)."""
    if measured_lufs <= -69.0:
        return 1.0
    return float(10 ** ((target_lufs - measured_lufs) / 20))


def apply_gain(audio: np.ndarray, gain: float) -> np.ndarray:
    """Gain, then a soft knee above -1 dBFS so peaks never clip (tanh keeps the waveform smooth)."""
    out = np.asarray(audio, dtype=np.float32) * np.float32(gain)
    over = np.abs(out) > _PEAK_CEILING * 0.9
    if over.any():
        knee = _PEAK_CEILING * 0.9
        head = _PEAK_CEILING - knee
        excess = np.abs(out[over]) - knee
        out[over] = np.sign(out[over]) * (knee + head * np.tanh(excess / head))
    return out


def silence(seconds: float, rate: int = OUTPUT_RATE) -> np.ndarray:
    if seconds < 0:
        raise ValueError(f"pause must be >= 0 s, got {seconds}")
    return np.zeros(round(seconds * rate), dtype=np.float32)


@cache
def chime(rate: int = OUTPUT_RATE, target_lufs: float = DEFAULT_TARGET_LUFS) -> np.ndarray:
    """Three descending bell tones (G5, E5, C5) before a bulletin, at the broadcast loudness."""
    note = 0.45
    t = np.arange(int(note * rate)) / rate
    tones = []
    for freq in (783.99, 659.25, 523.25):
        bell = sum(a * np.sin(2 * np.pi * freq * k * t) for k, a in ((1, 1.0), (2, 0.35), (3, 0.12)))
        envelope = np.exp(-t * 5.0) * np.minimum(t / 0.005, 1.0)
        tones.append(bell * envelope)
    sound = np.concatenate([*tones, np.zeros(int(0.35 * rate))]).astype(np.float32)
    level = loudness(sound, rate)
    return apply_gain(sound, gain_for(level, target_lufs - 3.0))  # a little under the speech
