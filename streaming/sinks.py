"""Where a speaker's samples go: a WAV file (with a JSON sidecar), the audio device, or nowhere.

The WAV sink records exactly the output timeline, silence included, from its first sample on, as 32-bit
float so nothing is rounded; the sidecar ``PATH.json`` gives the output index and wall time of that first
sample (the speaker's clock, and the true clock when a test simulated an offset), the frames played with
the index each began at, and the speaker's counters. Tests compare speakers sample by sample with it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from streaming.logsetup import event
from streaming.rtp import CLOCK_RATE

log = logging.getLogger(__name__)


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


EXTRA_HINT = "pip install 'loa[speaker]' (sounddevice) and the system's PortAudio (apt install libportaudio2)"


def _sounddevice() -> Any:
    """The optional sounddevice module; ValueError naming the install extra when it or PortAudio is absent."""
    try:
        import sounddevice
    except ImportError:
        raise ValueError(f"--sink device needs the sounddevice library: {EXTRA_HINT}") from None
    except OSError as e:  # sounddevice is there, libportaudio.so.2 is not
        raise ValueError(f"--sink device needs PortAudio ({e}): {EXTRA_HINT}") from None
    return sounddevice


class DeviceSink:
    """An audio output device through PortAudio (the optional ``sounddevice`` library: the ``speaker``
    extra). ``device``: a PortAudio device name or index (None: the system's default output).

    The speaker's playout thread paces the blocks (each handed ``lead`` before it plays); PortAudio's
    buffer of ``latency`` seconds absorbs the hand-over jitter. Underflows PortAudio reports (the card ran
    dry: an audible gap) are counted and, with the pace, logged when the sink closes."""

    def __init__(self, device: str | int | None = None, latency: float = 0.1) -> None:
        sd = _sounddevice()
        try:
            self._stream = sd.OutputStream(
                samplerate=CLOCK_RATE, channels=1, dtype="float32", latency=latency, device=device
            )
        except (sd.PortAudioError, ValueError) as e:
            raise ValueError(f"--sink device{':' + str(device) if device is not None else ''}: {e}") from None
        self.device = device
        self.lead = latency  # blocks are handed over this long before they play
        self.blocks = 0
        self.samples = 0
        self.underflows = 0
        # (time, samples handed before) at the first block past the buffer's fill, and at the last block
        self._steady: tuple[float, int] | None = None
        self._last: tuple[float, int] = (0.0, 0)
        info = sd.query_devices(self._stream.device)
        event(
            log,
            logging.INFO,
            "speaker.device_opened",
            f"device sink: {info['name']} at {CLOCK_RATE} Hz, {self._stream.latency * 1000:.0f} ms buffer",
            device=info["name"],
            latency_s=self._stream.latency,
        )

    def begin(self, index: int, local_wall: float, true_wall: float) -> None:
        self._stream.start()

    def write(self, samples: np.ndarray) -> None:
        now = time.monotonic()
        self._last = (now, self.samples)
        if self._steady is None and self.samples >= self.lead * CLOCK_RATE:
            self._steady = self._last  # the first `lead` seconds fill the buffer at once
        if self._stream.write(np.ascontiguousarray(samples, dtype=np.float32).reshape(-1, 1)):
            self.underflows += 1
        self.blocks += 1
        self.samples += len(samples)

    def pace(self) -> float:
        """Seconds of audio handed over per second of wall time once the buffer was full (1.0: real time)."""
        if self._steady is None or self._last[0] <= self._steady[0]:
            return 0.0
        return (self._last[1] - self._steady[1]) / CLOCK_RATE / (self._last[0] - self._steady[0])

    def close(self, summary: dict[str, Any]) -> None:
        self._stream.stop()
        self._stream.close()
        level = logging.WARNING if self.underflows else logging.INFO
        event(
            log,
            level,
            "speaker.device_closed",
            f"device sink closed: {self.blocks} blocks ({self.samples / CLOCK_RATE:.2f} s) at pace"
            f" {self.pace():.4f}, {self.underflows} underflows reported",
            blocks=self.blocks,
            seconds=round(self.samples / CLOCK_RATE, 3),
            pace=round(self.pace(), 5),
            underflows=self.underflows,
        )


def open_sink(spec: str) -> Sink:
    """``null``, ``device``, ``device:NAME`` (a PortAudio device name or index), or a path ending in .wav."""
    if spec == "null":
        return NullSink()
    if spec == "device" or spec.startswith("device:"):
        name = spec.partition(":")[2]
        return DeviceSink(int(name) if name.isdigit() else name or None)
    if spec.lower().endswith(".wav"):
        return WavSink(spec)
    raise ValueError(f"sink {spec!r} is not 'null', 'device', 'device:NAME' or a .wav path")
