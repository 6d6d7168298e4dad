"""Audio files, all through libsndfile (soundfile): speech out as WAV, Ogg/Opus or raw PCM (``encode``,
``write`` by the file's extension), pre-recorded segments in (``probe``, ``decode``: WAV, Ogg, FLAC as
48 kHz mono float32), and the one check libsndfile does not make (``truncation``).

libsndfile forgives a file cut short (it plays what is there), so a bulletin uploaded half-way would air
half a sentence; the container's own lengths tell:
- WAV: the ``data`` chunk declares its byte count; fewer bytes present means the file was cut. The sizes
  0 and 0xFFFFFFFF (written by streaming recorders that did not know the length) are not checked.
- Ogg: every page declares its length, and the last page of a stream carries the end-of-stream flag.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from engine.tts.audio import OUTPUT_RATE, resample

Kind = Literal["wav", "ogg_opus", "pcm_s16le"]

MAX_SECONDS = 3600.0
_SOUNDFILE_FORMATS = {"wav": ("WAV", "PCM_16"), "ogg_opus": ("OGG", "OPUS")}
_BY_SUFFIX: dict[str, Kind] = {".wav": "wav", ".ogg": "ogg_opus", ".opus": "ogg_opus"}
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_OGG_EOS = 0x04


def encode(audio: np.ndarray, kind: Kind, rate: int = OUTPUT_RATE) -> bytes:
    """Mono float audio as a file's bytes (``pcm_s16le``: bare little-endian samples, no header).
    Samples are clipped to [-1, 1] first: libsndfile would wrap them around in 16-bit PCM."""
    clipped = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    if kind == "pcm_s16le":
        return (clipped * 32767).astype("<i2").tobytes()
    container, subtype = _SOUNDFILE_FORMATS[kind]
    buffer = io.BytesIO()
    sf.write(buffer, clipped, rate, format=container, subtype=subtype)
    return buffer.getvalue()


def write(path: Path, audio: np.ndarray, rate: int = OUTPUT_RATE) -> None:
    """Writes a .wav (16-bit PCM), .ogg or .opus (Ogg/Opus, 48 kHz only) file."""
    kind = _BY_SUFFIX.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"output: {path.name}: use a .wav, .ogg or .opus file name")
    if kind == "ogg_opus" and rate != OUTPUT_RATE:
        raise ValueError(f"Ogg/Opus output needs 48 kHz audio, got {rate} Hz")
    path.write_bytes(encode(audio, kind, rate))


def probe(data: bytes) -> float:
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


def decode(data: bytes) -> np.ndarray:
    """A pre-recorded segment as 48 kHz mono float32 (channels averaged)."""
    probe(data)
    audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), rate, OUTPUT_RATE)


def truncation(data: bytes) -> str | None:
    """Why ``data`` (a WAV or Ogg file) looks cut short, or None when it is whole or of another kind."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav_truncation(data)
    if data[:4] == b"OggS":
        return _ogg_truncation(data)
    return None


def _wav_truncation(data: bytes) -> str | None:
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"data":
            held = len(data) - pos - 8
            if size not in _UNKNOWN_SIZES and held < size:
                return f"WAV cut short: its data chunk declares {size} bytes, {held} are there"
            return None
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return "WAV without a data chunk"


def _ogg_truncation(data: bytes) -> str | None:
    pos, flags = 0, 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS" or pos + 27 > len(data):
            return f"Ogg cut short or damaged at byte {pos}: not a page header"
        flags, segments = data[pos + 5], data[pos + 26]
        table_end = pos + 27 + segments
        if table_end > len(data):
            return f"Ogg cut short at byte {pos}: the page's segment table is missing"
        end = table_end + sum(data[pos + 27 : table_end])
        if end > len(data):
            held = len(data) - pos
            return f"Ogg cut short: the page at byte {pos} declares {end - pos} bytes, {held} are there"
        pos = end
    if not flags & _OGG_EOS:
        return "Ogg cut short: the last page does not end the stream"
    return None
