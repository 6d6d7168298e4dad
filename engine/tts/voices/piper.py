"""Piper VITS voices (``NAME.onnx`` + ``NAME.onnx.json``), phonemized and numbered exactly as piper-tts 1.8.

Phonemes come from espeak-ng in IPA, one list per sentence; each clause keeps its punctuation (and a
space after ``, : ;``); NFD splits tone marks and other diacritics into their own symbols. Ids: BOS ``^``,
PAD ``_`` after BOS and after every phoneme, EOS ``$``; phonemes missing from the map are skipped and
counted.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.tts.espeak import espeak
from engine.tts.voices.base import SynthesisOptions, VoiceAudio, VoiceInfo, language_code, speaker_index
from engine.tts.voices.onnx import Sessions

BOS, EOS, PAD = "^", "$", "_"
_LANGUAGE_SWITCH = re.compile(r"\([^)]+\)")
_DIALECTS = {"vi-vn-x-south": "south", "vi-vn-x-central": "central"}


@dataclass(frozen=True)
class PiperConfig:
    sample_rate: int
    espeak_voice: str
    phoneme_id_map: Mapping[str, Sequence[int]]
    num_speakers: int = 1
    speaker_id_map: Mapping[str, int] = field(default_factory=dict)
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w: float = 0.8
    vowel_clusters: frozenset[tuple[str, ...]] = frozenset()
    default_speaker_id: int = 0
    language: str = ""
    quality: str = "medium"
    phoneme_type: str = "espeak"

    @staticmethod
    def from_dict(config: Mapping[str, Any]) -> PiperConfig:
        try:
            inference = config.get("inference", {})
            language = config.get("language", {})
            return PiperConfig(
                sample_rate=int(config["audio"]["sample_rate"]),
                espeak_voice=str(config["espeak"]["voice"]),
                phoneme_id_map={k: tuple(v) for k, v in config["phoneme_id_map"].items()},
                num_speakers=int(config.get("num_speakers", 1)),
                speaker_id_map=dict(config.get("speaker_id_map") or {}),
                noise_scale=float(inference.get("noise_scale", 0.667)),
                length_scale=float(inference.get("length_scale", 1.0)),
                noise_w=float(inference.get("noise_w", 0.8)),
                vowel_clusters=frozenset(tuple(c) for c in config.get("vowel_clusters") or ()),
                default_speaker_id=int(config.get("default_speaker_id", 0)),
                language=str(language.get("code", "") if isinstance(language, dict) else language),
                quality=str(config["audio"].get("quality", "medium")),
                phoneme_type=str(config.get("phoneme_type", "espeak")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a Piper voice config: missing or bad {error}") from None


def phonemize(
    espeak_voice: str, text: str, vowel_clusters: frozenset[tuple[str, ...]] = frozenset()
) -> list[list[str]]:
    """Text to phonemes grouped by sentence, as piper-tts's EspeakPhonemizer does it."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for clause in espeak().phonemize(espeak_voice, text):
        phonemes = _LANGUAGE_SWITCH.sub("", clause.phonemes) + clause.terminator
        if clause.terminator in (",", ":", ";"):
            phonemes += " "
        current.extend(unicodedata.normalize("NFD", phonemes))
        if clause.end_of_sentence:
            sentences.append(_merge_clusters(current, vowel_clusters))
            current = []
    if current:
        sentences.append(_merge_clusters(current, vowel_clusters))
    return [s for s in sentences if s]


def _merge_clusters(phonemes: list[str], clusters: frozenset[tuple[str, ...]]) -> list[str]:
    if not clusters:
        return phonemes
    longest = max(len(c) for c in clusters)
    merged: list[str] = []
    i = 0
    while i < len(phonemes):
        for n in range(min(longest, len(phonemes) - i), 1, -1):
            if tuple(phonemes[i : i + n]) in clusters:
                merged.append("".join(phonemes[i : i + n]))
                i += n
                break
        else:
            merged.append(phonemes[i])
            i += 1
    return merged


def phoneme_ids(
    phonemes: Sequence[str], id_map: Mapping[str, Sequence[int]]
) -> tuple[list[int], Counter[str]]:
    """Piper's ids for one sentence, and the phonemes the map lacks (skipped) with their counts."""
    ids = [*id_map[BOS], *id_map[PAD]]
    missing: Counter[str] = Counter()
    for phoneme in phonemes:
        if phoneme not in id_map:
            missing[phoneme] += 1
            continue
        ids.extend(id_map[phoneme])
        ids.extend(id_map[PAD])
    ids.extend(id_map[EOS])
    return ids, missing


class PiperVoice:
    def __init__(self, info: VoiceInfo, config: PiperConfig, model: Path, intra_op_threads: int = 0) -> None:
        if config.phoneme_type != "espeak":
            raise ValueError(f"voice {info.id}: phoneme_type {config.phoneme_type!r} is not supported")
        self.info = info
        self.config = config
        self.sessions = Sessions(model, intra_op_threads)
        self.session = self.sessions.shared
        self._has_sid = any(i.name == "sid" for i in self.session.get_inputs())

    @staticmethod
    def read_info(model: Path, config: PiperConfig, voice_id: str | None = None) -> VoiceInfo:
        speakers = sorted(config.speaker_id_map, key=lambda name: config.speaker_id_map[name])
        if config.num_speakers > 1 and len(speakers) != config.num_speakers:
            speakers = [str(i) for i in range(config.num_speakers)]
        return VoiceInfo(
            id=voice_id or model.name.removesuffix(".onnx"),
            family="piper",
            language=language_code(config.language or config.espeak_voice),
            sample_rate=config.sample_rate,
            dialect=_DIALECTS.get(config.espeak_voice.lower()),
            speakers=tuple(speakers) if config.num_speakers > 1 else (),
            quality=config.quality,
            name=model.name.removesuffix(".onnx"),
        )

    @classmethod
    def load(cls, model: Path, intra_op_threads: int = 0, info: VoiceInfo | None = None) -> PiperVoice:
        config_path = model.with_name(model.name + ".json")
        if not config_path.is_file():
            raise ValueError(f"Piper voice {model}: config {config_path.name} is missing")
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        return cls(info or cls.read_info(model, config), config, model, intra_op_threads)

    def ids(self, text: str) -> tuple[list[list[int]], Counter[str]]:
        """One id sequence per sentence espeak-ng finds in text, and the phonemes it skipped."""
        missing: Counter[str] = Counter()
        sequences = []
        for sentence in phonemize(self.config.espeak_voice, text, self.config.vowel_clusters):
            ids, skipped = phoneme_ids(sentence, self.config.phoneme_id_map)
            sequences.append(ids)
            missing.update(skipped)
        return sequences, missing

    def run(self, ids: Sequence[int], options: SynthesisOptions, *, alone: bool = False) -> np.ndarray:
        config = self.config
        length_scale = config.length_scale / (options.speed or 1.0)
        noise_scale = config.noise_scale if options.noise_scale is None else options.noise_scale
        noise_w = config.noise_w if options.noise_w is None else options.noise_w
        feeds: dict[str, np.ndarray] = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([noise_scale, length_scale, noise_w], dtype=np.float32),
        }
        speaker = speaker_index(self.info, options.speaker, dict(config.speaker_id_map))
        if self._has_sid and config.num_speakers > 1:
            feeds["sid"] = np.array(
                [config.default_speaker_id if speaker is None else speaker], dtype=np.int64
            )
        session = self.sessions.alone() if alone else self.session
        output = session.run(None, feeds)[0]
        return np.asarray(output, dtype=np.float32).reshape(-1)

    def synthesize(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        return self._synthesize(text, options, alone=False)

    def synthesize_alone(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        """As ``synthesize``, on every core: for a piece that runs while nothing else does."""
        return self._synthesize(text, options, alone=True)

    def _synthesize(self, text: str, options: SynthesisOptions, alone: bool) -> VoiceAudio:
        sequences, missing = self.ids(text)
        pieces = [self.run(ids, options, alone=alone) for ids in sequences]
        audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        return VoiceAudio(audio, self.config.sample_rate, missing)
