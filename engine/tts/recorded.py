"""Pre-recorded segments (a WAV or Ogg/Opus file sent with a broadcast) as 48 kHz mono float32."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from engine.tts.audio import OUTPUT_RATE, resample

MAX_SECONDS = 3600.0


def probe_audio(data: bytes) -> float:
    """Duration in seconds; ValueError when the bytes are not a readable audio file or are too long."""
    if not data:
        raise ValueError("audio: empty")
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        raise ValueError("audio: not a readable WAV, Ogg or FLAC file") from None
    seconds = info.frames / info.samplerate if info.samplerate else 0.0
    if seconds <= 0:
        raise ValueError("audio: no samples")
    if seconds > MAX_SECONDS:
        raise ValueError(f"audio: {seconds:.0f} s is longer than {MAX_SECONDS:.0f} s")
    return seconds


def decode_audio(data: bytes) -> np.ndarray:
    probe_audio(data)
    audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), rate, OUTPUT_RATE)
