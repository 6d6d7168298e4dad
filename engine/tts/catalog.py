"""The voice catalog (``models/catalog.json``): known voices, where their files are, how to check them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.tts.voices.base import VoiceInfo

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "models" / "catalog.json"


@dataclass(frozen=True)
class CatalogFile:
    name: str
    url: str
    size: int | None = None  # bytes; None: not known
    sha256: str | None = None  # hex; None: not known
    source: str = ""  # where the size and sha256 come from (who published them), for whoever re-checks


@dataclass(frozen=True)
class CatalogVoice:
    id: str
    family: str
    language: str
    sample_rate: int
    model: str  # which of the files is the ONNX model
    files: tuple[CatalogFile, ...]
    dialect: str | None = None
    name: str = ""
    quality: str = "medium"
    speakers: int = 1
    licence: str = "unknown"

    def info(self) -> VoiceInfo:
        """Facts the manifest keeps; speaker names come from the model's own config."""
        return VoiceInfo(
            id=self.id,
            family=self.family,
            language=self.language,
            sample_rate=self.sample_rate,
            dialect=self.dialect,
            licence=self.licence,
            quality=self.quality,
            name=self.name,
        )


def default_voices_dir() -> Path:
    """``$LOA_VOICES_DIR``, else ``$XDG_DATA_HOME/loa/voices`` (``~/.local/share/loa/voices``)."""
    if os.environ.get("LOA_VOICES_DIR"):
        return Path(os.environ["LOA_VOICES_DIR"])
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "loa" / "voices"


def _voice(entry: dict[str, Any]) -> CatalogVoice:
    files = tuple(CatalogFile(**f) for f in entry.pop("files"))
    return CatalogVoice(files=files, **entry)


class Catalog:
    def __init__(self, voices: list[CatalogVoice]) -> None:
        self.voices = {v.id: v for v in voices}

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        path = path or Path(os.environ.get("LOA_CATALOG", DEFAULT_CATALOG))
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls([_voice(dict(entry)) for entry in data["voices"]])
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"voice catalog {path}: {error}") from None

    def get(self, voice_id: str) -> CatalogVoice | None:
        return self.voices.get(voice_id)

    def matching(self, file_names: set[str]) -> CatalogVoice | None:
        """The catalog voice whose files are exactly these names (an offline copy of a known voice)."""
        for voice in self.voices.values():
            names = {f.name for f in voice.files}
            if names <= file_names and voice.model in file_names and voice.family == "piper":
                return voice
        return None
