"""Meta MMS-TTS VITS voices as sherpa-onnx exports them: ``model.onnx`` + ``tokens.txt``, 16 kHz.

Inputs ``x`` int64 [N,L], ``x_length`` int64 [N], ``noise_scale``, ``length_scale``, ``noise_scale_w``
float32 [1]; output ``y`` float32 [N,1,L]. The model reads characters: text is lower-cased, characters
outside the vocabulary are dropped (and counted), and when the model was trained with ``add_blank`` a
blank (id 0) goes between and around the tokens. The export's metadata (model_type=vits, comment=mms,
frontend=characters, add_blank, language, n_speakers, sample_rate) says how. MMS weights are
CC-BY-NC-4.0.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from engine.tts.voices.base import SynthesisOptions, VoiceAudio, VoiceInfo, language_code, speaker_index
from engine.tts.voices.onnx import Sessions

LICENCE = "CC-BY-NC-4.0"
_NOISE_SCALE, _LENGTH_SCALE, _NOISE_W = 0.667, 1.0, 0.8


def read_tokens(path: Path) -> dict[str, int]:
    """``tokens.txt``: one "SYMBOL ID" per line; the symbol may itself be a space."""
    tokens: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        symbol, _, index = line.rpartition(" ")
        if not index.isdigit() or (symbol == "" and line != f" {index}"):
            raise ValueError(f"{path}:{number}: expected 'SYMBOL ID', got {line!r}")
        tokens[symbol if symbol else " "] = int(index)
    if not tokens:
        raise ValueError(f"{path}: no tokens")
    return tokens


def encode(text: str, tokens: dict[str, int], add_blank: bool) -> tuple[list[int], Counter[str]]:
    """Ids for text, and the characters the vocabulary lacks (dropped) with their counts."""
    ids: list[int] = []
    dropped: Counter[str] = Counter()
    for char in text.lower():
        if char in tokens:
            ids.append(tokens[char])
        else:
            dropped[char] += 1
    if add_blank:
        blanked = [0] * (2 * len(ids) + 1)
        blanked[1::2] = ids
        ids = blanked
    return ids, dropped


class MmsVoice:
    def __init__(self, model: Path, intra_op_threads: int = 0, info: VoiceInfo | None = None) -> None:
        tokens_path = model.with_name("tokens.txt")
        if not tokens_path.is_file():
            raise ValueError(f"MMS voice {model}: tokens.txt is missing next to it")
        self.tokens = read_tokens(tokens_path)
        self.sessions = Sessions(model, intra_op_threads)
        self.session = self.sessions.shared
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("comment") != "mms":
            raise ValueError(f"MMS voice {model}: metadata comment is {meta.get('comment')!r}, not 'mms'")
        self.add_blank = meta.get("add_blank", "1") not in ("0", "false", "False")
        self.sample_rate = int(meta.get("sample_rate", 16000))
        speakers = int(meta.get("n_speakers", 1) or 1)
        self._has_sid = any(i.name == "sid" for i in self.session.get_inputs())
        self.info = info or VoiceInfo(
            id=f"mms-{meta.get('language', model.parent.name)}",
            family="mms",
            language=language_code(meta.get("language", "und")),
            sample_rate=self.sample_rate,
            speakers=tuple(str(i) for i in range(speakers)) if speakers > 1 else (),
            licence=LICENCE,
            quality="medium",
            name=f"MMS-TTS {meta.get('language', '')}".strip(),
        )

    def synthesize(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        return self._synthesize(text, options, alone=False)

    def synthesize_alone(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        """As ``synthesize``, on every core: for a piece that runs while nothing else does."""
        return self._synthesize(text, options, alone=True)

    def _synthesize(self, text: str, options: SynthesisOptions, alone: bool) -> VoiceAudio:
        ids, dropped = encode(text, self.tokens, self.add_blank)
        if not any(ids):
            return VoiceAudio(np.zeros(0, dtype=np.float32), self.sample_rate, dropped)
        feeds = {
            "x": np.array([ids], dtype=np.int64),
            "x_length": np.array([len(ids)], dtype=np.int64),
            "noise_scale": np.array(
                [_NOISE_SCALE if options.noise_scale is None else options.noise_scale], np.float32
            ),
            "length_scale": np.array([_LENGTH_SCALE / (options.speed or 1.0)], dtype=np.float32),
            "noise_scale_w": np.array([_NOISE_W if options.noise_w is None else options.noise_w], np.float32),
        }
        speaker = speaker_index(self.info, options.speaker, {})
        if self._has_sid:
            feeds["sid"] = np.array([speaker or 0], dtype=np.int64)
        session = self.sessions.alone() if alone else self.session
        audio = np.asarray(session.run(["y"], feeds)[0], dtype=np.float32).reshape(-1)
        return VoiceAudio(audio, self.sample_rate, dropped)
