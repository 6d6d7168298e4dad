"""Opus encoder and decoder (system libopus through opuslib): 48 kHz mono, 20 ms frames.

The encoder's look-ahead (6.5 ms at 48 kHz) delays its output: decoded frame k holds input samples
``k*960 - lookahead ... (k+1)*960 - lookahead``. The sender stamps packets accordingly, so RTP time and
source sample index agree exactly, and a speaker plays source sample n at its presentation time.

Encoding costs ~47 µs per frame at complexity 5 and ~256 µs at 10 on this kind of CPU; encode a bulletin
once with :func:`encode_pcm` and reuse the packets for every group.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import opuslib
import opuslib.api.ctl
import opuslib.api.decoder
import opuslib.api.encoder

from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES

_BANDWIDTHS = {
    "narrowband": opuslib.BANDWIDTH_NARROWBAND,
    "mediumband": opuslib.BANDWIDTH_MEDIUMBAND,
    "wideband": opuslib.BANDWIDTH_WIDEBAND,
    "superwideband": opuslib.BANDWIDTH_SUPERWIDEBAND,
    "fullband": opuslib.BANDWIDTH_FULLBAND,
}


@dataclass(frozen=True, slots=True)
class OpusSettings:
    bitrate: int = 32_000  # bit/s; speech is clear from ~24 kbit/s
    complexity: int = 5  # 0..10; 10 costs ~5× the CPU for a small gain on speech
    vbr: bool = True
    fec: bool = True  # in-band FEC: each packet carries a low-rate copy of the previous frame
    expected_loss_percent: int = 5  # tells the encoder how much redundancy FEC should spend
    application: str = "voip"  # "voip" (speech, SILK/hybrid, where FEC lives) or "audio"
    # Wideband (8 kHz audio) keeps speech at 24-32 kbit/s in SILK mode, where in-band FEC is spent even
    # at ~5% expected loss; fullband hybrid mode measured here sends no FEC until the loss is higher.
    bandwidth: str = "wideband"

    def __post_init__(self) -> None:
        if not 6_000 <= self.bitrate <= 510_000:
            raise ValueError(f"bitrate {self.bitrate} not in 6000..510000 bit/s")
        if not 0 <= self.complexity <= 10:
            raise ValueError(f"complexity {self.complexity} not in 0..10")
        if not 0 <= self.expected_loss_percent <= 100:
            raise ValueError(f"expected_loss_percent {self.expected_loss_percent} not in 0..100")
        if self.bandwidth not in _BANDWIDTHS:
            raise ValueError(f"bandwidth {self.bandwidth!r} is not one of {sorted(_BANDWIDTHS)}")
        if self.application not in ("voip", "audio"):
            raise ValueError(f"application {self.application!r} is not 'voip' or 'audio'")


class OpusEncoder:
    def __init__(self, settings: OpusSettings | None = None) -> None:
        self.settings = settings or OpusSettings()
        app = opuslib.APPLICATION_VOIP if self.settings.application == "voip" else opuslib.APPLICATION_AUDIO
        self._encoder = opuslib.Encoder(CLOCK_RATE, 1, app)
        self._encoder.bitrate = self.settings.bitrate
        self._encoder.complexity = self.settings.complexity
        self._encoder.vbr = int(self.settings.vbr)
        self._encoder.max_bandwidth = _BANDWIDTHS[self.settings.bandwidth]
        # opuslib's inband_fec setter drops its value (opuslib 3.0.1): call the ctl directly
        opuslib.api.encoder.encoder_ctl(
            self._encoder.encoder_state, opuslib.api.ctl.set_inband_fec, int(self.settings.fec)
        )
        self._encoder.packet_loss_perc = self.settings.expected_loss_percent
        self.lookahead = int(self._encoder.lookahead)

    def encode(self, frame: np.ndarray) -> bytes:
        """One 20 ms frame (960 float samples in [-1, 1]) → one Opus packet."""
        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"an Opus frame is {FRAME_SAMPLES} mono samples, got shape {frame.shape}")
        data = np.ascontiguousarray(frame, dtype=np.float32).tobytes()
        return bytes(self._encoder.encode_float(data, FRAME_SAMPLES))


@functools.lru_cache(maxsize=32)
def encoder_lookahead(settings: OpusSettings) -> int:
    """Samples by which the encoder's output lags its input (312 at 48 kHz)."""
    return OpusEncoder(settings).lookahead


def encode_pcm(pcm: np.ndarray, settings: OpusSettings | None = None, *, flush: bool = True) -> list[bytes]:
    """A whole mono 48 kHz signal → Opus packets, 20 ms each, zero-padded to whole frames.

    With ``flush`` one extra frame of silence follows, so the encoder's look-ahead tail gets out.
    """
    pcm = validate_pcm(pcm)
    frames = -(-len(pcm) // FRAME_SAMPLES) + (1 if flush else 0)
    padded = np.zeros(frames * FRAME_SAMPLES, dtype=np.float32)
    padded[: len(pcm)] = pcm
    encoder = OpusEncoder(settings)
    return [encoder.encode(padded[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) for i in range(frames)]


def validate_pcm(pcm: np.ndarray) -> np.ndarray:
    pcm = np.asarray(pcm)
    if pcm.ndim != 1:
        raise ValueError(f"pcm must be mono (1-D), got shape {pcm.shape}")
    if pcm.dtype.kind != "f":
        raise ValueError(f"pcm must be float samples in [-1, 1], got dtype {pcm.dtype}")
    pcm = pcm.astype(np.float32, copy=False)
    if not np.all(np.isfinite(pcm)):
        raise ValueError("pcm contains NaN or infinite samples")
    return pcm


class OpusDecoder:
    """Decodes packets in order; :meth:`conceal` (PLC) and :meth:`recover` (FEC) fill the gaps."""

    def __init__(self) -> None:
        self._decoder = opuslib.Decoder(CLOCK_RATE, 1)

    def _decode(self, data: bytes | None, fec: bool) -> np.ndarray:
        out = opuslib.api.decoder.decode_float(
            self._decoder.decoder_state, data, len(data) if data else 0, FRAME_SAMPLES, fec, channels=1
        )
        samples = np.frombuffer(out, dtype=np.float32)
        if len(samples) != FRAME_SAMPLES:  # a packet of another duration: keep the 20 ms grid
            fixed = np.zeros(FRAME_SAMPLES, dtype=np.float32)
            fixed[: min(len(samples), FRAME_SAMPLES)] = samples[:FRAME_SAMPLES]
            return fixed
        return samples.copy()

    def decode(self, packet: bytes) -> np.ndarray:
        """Opus packet → 960 float samples; ValueError if libopus rejects it."""
        if not packet:
            raise ValueError("empty Opus packet")
        try:
            return self._decode(packet, False)
        except opuslib.OpusError as e:
            raise ValueError(f"bad Opus packet: {e}") from e

    def recover(self, next_packet: bytes) -> np.ndarray:
        """The frame before ``next_packet``, from its in-band FEC data (PLC if it carries none)."""
        try:
            return self._decode(next_packet, True)
        except opuslib.OpusError:
            return self.conceal()

    def conceal(self) -> np.ndarray:
        """Packet loss concealment: a plausible continuation of the last frame, fading out."""
        return self._decode(None, False)

    def reset(self) -> None:
        self._decoder.reset_state()
