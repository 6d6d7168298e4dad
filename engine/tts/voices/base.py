"""What every voice family offers the synthesizer: facts about the voice, and text → audio.

A voice is plain configuration plus, for the neural families, one shared onnxruntime session
(piper1-gpl's shape). ``synthesize`` is safe to call from several threads at once: onnxruntime sessions
allow concurrent ``run`` calls, and espeak-ng access is serialized inside ``engine.tts.espeak``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from engine.tts.limits import NOISE, SPEED

# Language codes inside Loa: ISO 639-1 where one exists, else ISO 639-3 (as MMS names them).
_ISO3_TO_1 = {"vie": "vi", "khm": "km", "eng": "en", "yue": "yue", "zho": "zh"}


def language_code(code: str) -> str:
    """Loa's code for a language tag: ``vie`` → ``vi``, ``vi_VN`` → ``vi``, ``khm`` → ``km``."""
    base = code.replace("_", "-").split("-")[0].lower()
    return _ISO3_TO_1.get(base, base)


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    family: str  # "piper" | "mms" | "espeak"
    language: str  # language_code()
    sample_rate: int
    dialect: str | None = None  # "north" | "central" | "south" or None
    speakers: tuple[str, ...] = ()  # names, in speaker-id order; empty for single-speaker voices
    licence: str = "unknown"
    quality: str = "medium"  # piper's x_low/low/medium/high, or "fallback" for the formant voice
    name: str = ""


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-request overrides; None keeps the voice's own default."""

    speaker: str | int | None = None
    speed: float | None = None  # > 1 speaks faster
    noise_scale: float | None = None
    noise_w: float | None = None

    def __post_init__(self) -> None:
        if self.speed is not None:
            SPEED.check(self.speed, "speed")
        for name in ("noise_scale", "noise_w"):
            value = getattr(self, name)
            if value is not None:
                NOISE.check(value, name)


@dataclass
class VoiceAudio:
    """Audio at the voice's own rate, and what of the text the voice could not read."""

    audio: np.ndarray  # float32 mono
    sample_rate: int
    unread: Counter[str] = field(default_factory=Counter)  # skipped characters / phonemes and counts


class Voice(Protocol):
    info: VoiceInfo

    def synthesize(self, text: str, options: SynthesisOptions) -> VoiceAudio: ...


def speaker_index(info: VoiceInfo, speaker: str | int | None, speaker_id_map: dict[str, int]) -> int | None:
    """Resolve a speaker name or number for a voice; None for single-speaker voices."""
    count = max(len(info.speakers), len(speaker_id_map))
    if count <= 1:
        if speaker not in (None, 0, "0", ""):
            raise ValueError(f"speaker: voice {info.id} has a single speaker, got {speaker!r}")
        return None
    if speaker is None or speaker == "":
        return 0
    if isinstance(speaker, str) and speaker in speaker_id_map:
        return speaker_id_map[speaker]
    try:
        index = int(speaker)
    except ValueError:
        raise ValueError(f"speaker: voice {info.id} has no speaker {speaker!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"speaker: voice {info.id} has speakers 0..{count - 1}, got {index}")
    return index
