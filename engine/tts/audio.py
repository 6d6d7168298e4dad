"""Voice output → broadcast audio: 48 kHz, one loudness for the whole bulletin, pauses, a chime.

Piper normalizes every sentence to full-scale peak, so loud and quiet sentences come out alike and
one bulletin jumps in level. Here each voice gets one fixed gain, measured once (ITU-R BS.1770
loudness of a calibration text) against the broadcast target, and every piece of every bulletin
from that voice gets the same gain; a look-ahead limiter only touches true peaks above PEAK_CEILING.

Resampling and K-weighting are plain numpy, equal to scipy's ``resample_poly`` and ``lfilter`` to
float rounding (tests compare them): importing ``scipy.signal`` costs ~70 MiB of memory per process.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from streaming.rtp import CLOCK_RATE

OUTPUT_RATE = CLOCK_RATE  # the engine's name for it: what it produces is what the RTP stream carries
DEFAULT_TARGET_LUFS = -16.0  # public-address speech: louder than EBU R128's -23 for TV
# The true-peak ceiling (dBTP, 4x oversampled): the headroom Opus needs, measured with real libopus
# (bench/bench_opus_headroom.py: voip, wideband, FEC, 12-128 kb/s). Decoding overshoots the input's
# peak by up to +1.4 dB on speech left as the voice made it (espeak-vi-south; Piper joe +0.7 dB), +1.2 dB
# on the chime, +2.7 dB on white noise; a full-scale square or sawtooth up to +9 dB. With this ceiling the
# decoded peak of speech from espeak (south, north) and Piper joe is at most -1.2 dBFS, of a sine, noise
# or a sweep driven 12 dB into the limiter -0.6 dBFS; the old -1 dBFS tanh knee decoded at full scale
# (45-127 clipped samples per 15 s of espeak speech). At -16 LUFS speech peaks reach +2.5..+5 dBTP
# before limiting, so the limiter costs ~2 dB of loudness (-18 LUFS out).
PEAK_CEILING = 10 ** (-3.0 / 20)
TRUE_PEAK_OVERSAMPLING = 4
_LIMITER_HALF_WINDOW = 240  # 5 ms at 48 kHz: the look-ahead, and half the time the gain takes to dip

# BS.1770-4 K-weighting at 48 kHz: a high shelf, then a high-pass.
_SHELF_B = (1.53512485958697, -2.69169618940638, 1.19839281085285)
_SHELF_A = (1.0, -1.69065929318241, 0.73248077421585)
_HIGHPASS_B = (1.0, -2.0, 1.0)
_HIGHPASS_A = (1.0, -1.99004745483398, 0.99007225036621)


def resample(audio: np.ndarray, rate: int, target: int = OUTPUT_RATE) -> np.ndarray:
    """Polyphase resampling (22.05 kHz → 48 kHz is up 320, down 147), as scipy's ``resample_poly``."""
    audio = np.asarray(audio, dtype=np.float32)
    if rate == target or audio.size == 0:
        return audio
    ratio = Fraction(target, rate)
    up, down = ratio.numerator, ratio.denominator
    phases, skip = _polyphase(up, down)
    taps = phases.shape[1]
    n_out = -(-audio.size * up // down)
    last = (skip + n_out - 1) * down // up  # the last input index any output needs
    padded = np.zeros(taps - 1 + max(audio.size, last + 1), np.float32)
    padded[taps - 1 : taps - 1 + audio.size] = audio
    windows = sliding_window_view(padded, taps)
    out = np.empty(n_out, np.float32)
    # Outputs r, r + up, r + 2·up, ... share one filter phase and step down inputs at a time.
    for r in range(min(up, n_out)):
        start = (skip + r) * down
        count = len(range(r, n_out, up))
        first = start // up
        out[r::up] = windows[first : first + (count - 1) * down + 1 : down] @ phases[start % up]
    return out


@cache
def _polyphase(up: int, down: int) -> tuple[np.ndarray, int]:
    """resample_poly's low-pass (Kaiser β 5 windowed sinc, 10 zero crossings a side) cut into ``up``
    phases, each reversed for a dot product with a window of input; and how many outputs lead in."""
    max_rate = max(up, down)
    half = 10 * max_rate
    n = np.arange(2 * half + 1) - half
    h = np.sinc(n / max_rate) / max_rate * np.kaiser(2 * half + 1, 5.0)
    h = (h / h.sum()).astype(np.float32) * np.float32(up)
    lead = down - half % down
    taps = -(-(h.size + lead) // up)
    filt = np.zeros(taps * up, np.float32)
    filt[lead : lead + h.size] = h
    return np.ascontiguousarray(filt.reshape(taps, up).T[:, ::-1]), (half + lead) // down


def loudness(audio: np.ndarray, rate: int = OUTPUT_RATE) -> float:
    """Integrated loudness in LUFS (BS.1770: K-weighting, 400 ms blocks, absolute and relative gates)."""
    if rate != OUTPUT_RATE:
        audio = resample(audio, rate)
    weighted = _k_weighted(np.asarray(audio, np.float64))
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


def _k_weighted(audio: np.ndarray) -> np.ndarray:
    """The two K-weighting biquads, applied as one FIR: their impulse response, convolved by FFT."""
    h = _k_impulse()
    size = 1 << (audio.size + h.size - 2).bit_length()
    return np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(h, size), size)[: audio.size]


@cache
def _k_impulse(length: int = 8192) -> np.ndarray:
    """The high-pass's poles sit at radius 0.995: after 8192 samples the response is below 1e-17."""
    impulse = np.zeros(length)
    impulse[0] = 1.0
    for b, a in ((_SHELF_B, _SHELF_A), (_HIGHPASS_B, _HIGHPASS_A)):
        out = np.empty(length)
        x1 = x2 = y1 = y2 = 0.0
        for i, x0 in enumerate(impulse.tolist()):
            y0 = b[0] * x0 + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            out[i] = y0
            x2, x1, y2, y1 = x1, x0, y1, y0
        impulse = out
    return impulse


def gain_for(measured_lufs: float, target_lufs: float = DEFAULT_TARGET_LUFS) -> float:
    """Linear gain that brings audio measured at ``measured_lufs`` to the target (silence: unity)."""
    if measured_lufs <= -69.0:
        return 1.0
    return float(10 ** ((target_lufs - measured_lufs) / 20))


def apply_gain(audio: np.ndarray, gain: float) -> np.ndarray:
    """Gain, then the true-peak limiter (:func:`limit`), so peaks keep the headroom Opus needs."""
    return limit(np.asarray(audio, dtype=np.float32) * np.float32(gain))


def true_peaks(audio: np.ndarray) -> np.ndarray:
    """Each sample's true peak: the largest magnitude among its 4 points of a 4x oversampling (BS.1770-4)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.size == 0:
        return x
    up = np.abs(resample(x, OUTPUT_RATE, TRUE_PEAK_OVERSAMPLING * OUTPUT_RATE))
    return up[: x.size * TRUE_PEAK_OVERSAMPLING].reshape(x.size, TRUE_PEAK_OVERSAMPLING).max(axis=1)


def limit(audio: np.ndarray, ceiling: float | None = None) -> np.ndarray:
    """A look-ahead gain rider: where the true peak would pass ``ceiling``, the gain dips smoothly.

    The gain needed at each sample is spread as a running minimum over +-5 ms, then averaged over the
    same window, so it is at most what every sample needs and changes over ~10 ms: the waveform keeps
    its shape. A waveshaper (the tanh knee this replaced) flattens the tops instead, adding harmonics
    above the 8 kHz band the codec keeps; Opus drops them and the tops come back higher than before."""
    ceiling = PEAK_CEILING if ceiling is None else ceiling
    x = np.asarray(audio, dtype=np.float32)
    peaks = true_peaks(x)
    if x.size == 0 or float(peaks.max()) <= ceiling:
        return x
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))
    half = _LIMITER_HALF_WINDOW
    floor = _running_min(need, 2 * half + 1)
    padded = np.concatenate([np.full(half, floor[0]), floor, np.full(half, floor[-1])])
    sums = np.concatenate([[0.0], np.cumsum(padded, dtype=np.float64)])
    gain = (sums[2 * half + 1 :] - sums[: -(2 * half + 1)]) / (2 * half + 1)
    return x * gain.astype(np.float32)


def _running_min(x: np.ndarray, width: int) -> np.ndarray:
    """min(x[i - width//2 : i + width//2 + 1]) for each i, padded with 1 (no gain reduction); O(n)
    (van Herk / Gil-Werman: prefix minima and suffix minima of blocks of ``width``)."""
    half = width // 2
    n = x.size
    blocks = -(-(n + 2 * half) // width)
    padded = np.ones(blocks * width)
    padded[half : half + n] = x
    rows = padded.reshape(blocks, width)
    prefix = np.minimum.accumulate(rows, axis=1).ravel()
    suffix = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    i = np.arange(n)
    return np.minimum(suffix[i], prefix[i + width - 1])


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
