"""Which voices this machine has, and each one loaded once and shared by every request.

Voices come from three places: the built-in espeak-ng voices, the voices directory (one folder per
voice, as ``loa voices install`` leaves them, with a ``voice.json`` manifest), and models added by path.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from engine.tts.limits import DEFAULT_DIALECT
from engine.tts.voices.base import Voice, VoiceInfo, language_code
from engine.tts.voices.builtin import builtin_voices

MANIFEST = "voice.json"
_QUALITY_RANK = {"high": 4, "medium": 3, "low": 2, "x_low": 1, "fallback": 0}


def write_manifest(folder: Path, info: VoiceInfo, model: str) -> None:
    data = asdict(info) | {"model": model}
    (folder / MANIFEST).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_manifest(folder: Path) -> tuple[VoiceInfo, Path]:
    data: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    model = folder / data.pop("model")
    data["speakers"] = tuple(data.get("speakers") or ())
    return VoiceInfo(**data), model


def detect(model: Path) -> str:
    """The family of a model file: Piper has NAME.onnx.json beside it, MMS has tokens.txt."""
    if model.with_name(model.name + ".json").is_file():
        return "piper"
    if model.with_name("tokens.txt").is_file():
        return "mms"
    raise ValueError(f"{model}: neither {model.name}.json (Piper) nor tokens.txt (MMS) beside it")


def find_model(folder: Path) -> Path:
    models = sorted(folder.glob("*.onnx"))
    if len(models) != 1:
        raise ValueError(f"{folder}: expected one .onnx model, found {len(models)}")
    return models[0]


@dataclass
class _Entry:
    info: VoiceInfo
    load: Callable[[], Voice]
    voice: Voice | None = None


class VoiceRegistry:
    def __init__(
        self, voices_dir: Path | None = None, intra_op_threads: int | None = None, builtin: bool = True
    ):
        """``intra_op_threads`` None lets the synthesizer choose before the first voice loads."""
        self.voices_dir = voices_dir
        self.intra_op_threads = intra_op_threads
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        if builtin:
            for voice in builtin_voices():
                self.add_voice(voice)
        if voices_dir is not None and voices_dir.is_dir():
            for folder in sorted(
                p for p in voices_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
            ):
                try:
                    self.add_folder(folder)
                except (ValueError, OSError, KeyError, TypeError):
                    continue  # a broken folder must not stop the others; `loa voices list` reports it

    def add_folder(self, folder: Path) -> VoiceInfo:
        if (folder / MANIFEST).is_file():
            info, model = read_manifest(folder)
            return self.add_model(model, info)
        return self.add_model(find_model(folder))

    def add_model(self, model: Path, info: VoiceInfo | None = None) -> VoiceInfo:
        """Register a Piper or MMS model file; it loads on first use."""
        model = Path(model)
        family = info.family if info else detect(model)
        if family == "piper":
            from engine.tts.voices.piper import PiperConfig, PiperVoice

            config = PiperConfig.from_dict(
                json.loads(model.with_name(model.name + ".json").read_text("utf-8"))
            )
            base = PiperVoice.read_info(model, config)
            info = replace(base, **_overrides(info)) if info else base
            entry = _Entry(info, lambda: PiperVoice.load(model, self._threads(), info))
        elif family == "mms":
            from engine.tts.voices.mms import MmsVoice

            if info is None:
                voice = MmsVoice(model, self._threads())
                entry = _Entry(voice.info, lambda: voice, voice)
            else:
                entry = _Entry(info, lambda: MmsVoice(model, self._threads(), info))
        else:
            raise ValueError(f"{model}: unknown voice family {family!r}")
        with self._lock:
            self._entries[entry.info.id] = entry
        return entry.info

    def add_voice(self, voice: Voice) -> VoiceInfo:
        """Register a voice object already built (a custom family, or a wrapper)."""
        with self._lock:
            self._entries[voice.info.id] = _Entry(voice.info, lambda: voice, voice)
        return voice.info

    def _threads(self) -> int:
        return self.intra_op_threads or 0

    def list(self) -> list[VoiceInfo]:
        with self._lock:
            return [entry.info for entry in self._entries.values()]

    def get(self, voice_id: str) -> Voice:
        with self._lock:
            entry = self._entries.get(voice_id)
            if entry is None:
                known = ", ".join(sorted(self._entries)) or "none"
                raise KeyError(f"voice_id: no voice {voice_id!r} (installed: {known})")
            if entry.voice is None:
                entry.voice = entry.load()
            return entry.voice

    def choose(self, language: str = "vi", dialect: str | None = None, voice_id: str | None = None) -> Voice:
        """The named voice, else the best voice for the language in the dialect the text is read in.

        No dialect means limits.DEFAULT_DIALECT, as for the normalizer (normalize.resolve_dialect): a voice of
        another dialect would say "một nghìn" where the text reads "một ngàn". A voice of that dialect or
        of none stated comes first, then quality (a neural voice before espeak), then the exact dialect."""
        if voice_id:
            return self.get(voice_id)
        code = language_code(language)
        candidates = [info for info in self.list() if info.language == code]
        if not candidates:
            raise KeyError(f"language: no voice for {language!r}; install one with `loa voices install`")
        wanted = (dialect or "").strip().lower() or (DEFAULT_DIALECT if code == "vi" else "")
        best = max(
            candidates,
            key=lambda i: (
                not wanted or i.dialect in (None, wanted),
                _QUALITY_RANK.get(i.quality, 2),
                i.dialect == wanted,
            ),
        )
        return self.get(best.id)


def _overrides(info: VoiceInfo) -> dict[str, Any]:
    """Manifest facts that beat what the model's own config says (catalog id, licence, dialect)."""
    return {
        k: v for k, v in asdict(info).items() if k in ("id", "licence", "dialect", "name", "quality") and v
    }
