"""Where a speaker's samples go: a WAV file (with a JSON sidecar), the audio device, or nowhere.

The WAV sink records exactly the output timeline, silence included, from its first sample on, as 32-bit
float so nothing is rounded; the sidecar ``PATH.json`` gives the output index and wall time of that first
sample (the speaker's clock, and the true clock when a test simulated an offset), the frames played with
the index each began at, and the speaker's counters. Tests compare speakers sample by sample with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from streaming.rtp import CLOCK_RATE


class Sink(Protocol):
    lead: float  # how long before its play time a block must be handed to the sink

    def begin(self, index: int, local_wall: float, true_wall: float) -> None: ...

    def write(self, samples: np.ndarray) -> None: ...

    def close(self, summary: dict[str, Any]) -> None: ...


class NullSink:
    lead = 0.0

    def begin(self, index: int, local_wall: float, true_wall: float) -> None:
        pass

    def write(self, samples: np.ndarray) -> None:
        pass

    def close(self, summary: dict[str, Any]) -> None:
        pass


class WavSink:
    def __init__(self, path: str | Path) -> None:
        import soundfile

        self.path = Path(path)
        if self.path.suffix.lower() != ".wav":
            raise ValueError(f"WAV sink path must end in .wav: {self.path}")
        self._file = soundfile.SoundFile(str(self.path), "w", CLOCK_RATE, 1, "FLOAT")
        self._meta: dict[str, Any] = {"sample_rate": CLOCK_RATE}
        self.lead = 0.0  # a file has no output latency: each block is written at its play time

    def begin(self, index: int, local_wall: float, true_wall: float) -> None:
        self._meta.update(
            first_sample_index=index, first_sample_wall=local_wall, first_sample_true_wall=true_wall
        )

    def write(self, samples: np.ndarray) -> None:
        self._file.write(samples)

    def close(self, summary: dict[str, Any]) -> None:
        self._file.close()
        sidecar = self.path.with_name(self.path.name + ".json")
        sidecar.write_text(json.dumps({**self._meta, **summary}), encoding="utf-8")


class DeviceSink:
    """The default output device via the optional ``sounddevice`` library (PortAudio)."""

    def __init__(self, latency: float = 0.1) -> None:
        try:
            import sounddevice
        except ImportError as e:
            raise ValueError("the device sink needs the sounddevice library (pip install sounddevice)") from e
        self._stream = sounddevice.OutputStream(
            samplerate=CLOCK_RATE, channels=1, dtype="float32", latency=latency
        )
        self.lead = latency  # blocks are handed over this long before they play

    def begin(self, index: int, local_wall: float, true_wall: float) -> None:
        self._stream.start()

    def write(self, samples: np.ndarray) -> None:
        self._stream.write(samples.reshape(-1, 1))

    def close(self, summary: dict[str, Any]) -> None:
        self._stream.stop()
        self._stream.close()


def open_sink(spec: str) -> Sink:
    """``null``, ``device``, or a path ending in .wav."""
    if spec == "null":
        return NullSink()
    if spec == "device":
        return DeviceSink()
    if spec.lower().endswith(".wav"):
        return WavSink(spec)
    raise ValueError(f"sink {spec!r} is not 'null', 'device' or a .wav path")
