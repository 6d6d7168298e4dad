"""A live voice: an operator's microphone, pushed chunk by chunk over gRPC (AirLiveVoice), as a LiveFeed.

The gRPC handler (engine/api/live_voice.py) is the writer: it decodes each chunk (:class:`VoiceDecoder`:
PCM s16le at 8, 16, 24 or 48 kHz, or Opus packets) to 48 kHz float32 and writes it to the session
(:class:`VoiceSession`). The airing is the reader: the session's current :class:`VoiceFeed` is a
ClockedBuffer (clocked.py) with a small target latency (``TARGET_S``), so the voice is heard about one
playout delay + ~0.1 s after it was spoken (bench/README.md, bench_live_voice.py).

A cut by a higher priority closes the feed; the resumed airing asks the session for a new one, which
starts empty: the operator is heard again from the present, not from what was said while cut.

The client is gone when its call is cancelled, or when no audio came for ``STALL_S`` (a network
drop that gRPC has not noticed yet): the feed drains, records the gap as "client gone", and ends with
that reason; the airing finishes and the log says why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from engine.live.clocked import ClockedBuffer
from engine.live.feed import Gap
from engine.tts.audio import resample
from streaming.opus import OpusDecoder

RATE = 48_000
PCM_RATES = (8000, 16000, 24000, 48000)  # whole ratios to 48 kHz: resampled in a stream, no chunk edges
MAX_CHUNK_S = 0.2  # a PCM chunk (a microphone sends 10-40 ms); bigger ones are refused
TARGET_S = 0.06  # the feed's latency: what it holds before it starts, and rebuffers to after a drop-out
MAX_S = 0.5  # beyond this much buffered (a client sending faster than real time) the oldest is dropped
STALL_S = 5.0  # no audio this long: the client is gone
CLIENT_GONE = "client gone"
PCM, OPUS = "pcm", "opus"
_HISTORY = 16  # input samples kept from one chunk to the next: the resampler's filter reaches 10


class VoiceDecoder:
    """One call's chunks → 48 kHz mono float32. ValueError names the field for a bad header or chunk."""

    def __init__(self, kind: str, sample_rate: int) -> None:
        if kind not in (PCM, OPUS):
            raise ValueError("header.format: give PCM_S16LE or OPUS")
        if kind == PCM and sample_rate not in PCM_RATES:
            rates = ", ".join(map(str, PCM_RATES))
            raise ValueError(f"header.sample_rate: {sample_rate} Hz is not supported; give one of {rates}")
        self.kind = kind
        self.rate = sample_rate if kind == PCM else RATE
        self._opus = OpusDecoder() if kind == OPUS else None
        self._history = np.zeros(2 * _HISTORY, dtype=np.float32)

    def decode(self, chunk: bytes) -> np.ndarray:
        if not chunk:
            raise ValueError("audio: empty chunk")
        if self._opus is not None:
            if len(chunk) > 1275:
                raise ValueError(f"audio: {len(chunk)} bytes is not one Opus packet (at most 1275)")
            try:
                return self._opus.decode(chunk)
            except Exception as exc:  # libopus refuses the packet
                raise ValueError(f"audio: not an Opus packet ({exc})") from None
        if len(chunk) % 2:
            raise ValueError(f"audio: {len(chunk)} bytes is not whole 16-bit samples")
        most = round(MAX_CHUNK_S * self.rate) * 2
        if len(chunk) > most:
            raise ValueError(f"audio: {len(chunk)} bytes is over {MAX_CHUNK_S * 1000:.0f} ms ({most} bytes)")
        pcm = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0
        return self._resample(pcm)

    def _resample(self, pcm: np.ndarray) -> np.ndarray:
        """Streaming: each chunk is resampled with the end of the last one before it and its output taken
        ``_HISTORY`` input samples back, so the filter never sees a chunk's edge (0.3 ms of delay at
        48/16 kHz) and a chunked stream comes out as the whole would."""
        if self.rate == RATE:
            return pcm
        up = RATE // self.rate
        x = np.concatenate([self._history, pcm])
        self._history = x[-2 * _HISTORY :]
        y = resample(x, self.rate)
        return y[_HISTORY * up : (_HISTORY + pcm.size) * up]


class VoiceFeed:
    """The LiveFeed of one airing (or resumed part) of a live voice: a ClockedBuffer, watched for a
    client that stopped sending."""

    def __init__(self, session: VoiceSession) -> None:
        self.session = session
        self.buffer = ClockedBuffer(target_s=TARGET_S, max_s=MAX_S)

    def chunks(self) -> Iterator[np.ndarray]:
        for chunk in self.buffer.chunks():
            if time.monotonic() - self.session.last_audio > STALL_S:
                self.session.gone()
            yield chunk

    def close(self) -> None:
        self.buffer.close()

    @property
    def gaps(self) -> list[Gap]:
        return self.buffer.gaps

    @property
    def end_reason(self) -> str:
        reason = self.buffer.end_reason
        return "" if reason == "closed" else reason


class VoiceSession:
    """One AirLiveVoice call: the handler writes, each airing of it reads through a new feed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._feed: VoiceFeed | None = None
        self.opened = threading.Event()  # the airing asked for a feed: the voice is on air
        self.ended = ""  # "client ended", "client gone": nothing more will be written
        self.last_audio = time.monotonic()
        self.first_write: float | None = None

    def feed(self) -> VoiceFeed:
        """A new feed from the present on (the old one, if any, was closed by its airing's cut)."""
        with self._lock:
            if self._feed is not None:
                self._feed.close()
            feed = self._feed = VoiceFeed(self)
            if self.ended:
                feed.buffer.finish(self.ended)
        self.opened.set()
        return feed

    def write(self, pcm: np.ndarray) -> None:
        self.last_audio = time.monotonic()
        with self._lock:
            feed = self._feed
        if feed is not None and not self.ended:
            feed.buffer.write(pcm)  # False while cut: what is said then is not aired later

    def finish(self, reason: str) -> None:
        """No more audio (the client closed its side, or is gone): the feed drains and ends."""
        with self._lock:
            if self.ended:
                return
            self.ended = reason
            feed = self._feed
        if feed is not None:
            if reason == CLIENT_GONE:
                feed.buffer.fault(CLIENT_GONE)
            feed.buffer.finish(reason)

    def gone(self) -> None:
        self.finish(CLIENT_GONE)
