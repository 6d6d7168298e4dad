"""A request without a dialect is read and voiced in one dialect, limits.DEFAULT_DIALECT (#13).

Before, the text was normalized the southern way ("một ngàn không trăm lẻ năm") and then spoken by the
northern espeak voice, which a southern listener hears as a northerner reading southern words.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from engine.tts.limits import DEFAULT_DIALECT, DIALECTS
from engine.tts.synthesizer import SpeechRequest, Synthesizer
from engine.tts.text import normalize
from engine.tts.voices.builtin import EspeakVoice
from engine.tts.voices.registry import VoiceRegistry

TEXT = "Có 1.005 hộ nhận hỗ trợ từ ngày 1/6."


@pytest.fixture(scope="module")
def synth() -> Iterator[Synthesizer]:
    with Synthesizer(VoiceRegistry(builtin=True), workers=1) as s:
        yield s


@pytest.mark.parametrize("dialect", [None, *DIALECTS])
def test_a_request_is_normalized_and_voiced_in_the_same_dialect(
    synth: Synthesizer, dialect: str | None
) -> None:
    expected = dialect or DEFAULT_DIALECT
    speech = synth.synthesize(SpeechRequest(TEXT, language="vi", dialect=dialect))
    assert synth.voices.get(speech.voice_id).info.dialect == expected
    assert speech.normalized_text == normalize(TEXT, "vi", expected).text
    other = next(d for d in DIALECTS if d != expected)
    assert speech.normalized_text != normalize(TEXT, "vi", other).text  # the text does tell them apart


def test_a_better_voice_of_the_other_dialect_is_used_only_when_asked_for() -> None:
    voices = VoiceRegistry(builtin=True)
    other = next(d for d in DIALECTS if d != DEFAULT_DIALECT)
    stand_in = EspeakVoice("neural-other", "vi", "vi", other, "a neural voice of the other dialect")
    stand_in.info = replace(stand_in.info, quality="medium")
    voices.add_voice(stand_in)
    assert voices.choose("vi").info.dialect == DEFAULT_DIALECT
    assert voices.choose("vi", dialect=other).info.id == "neural-other"  # quality within the dialect
    undeclared = EspeakVoice("neural-any", "vi", "vi", None, "a neural voice of no stated dialect")
    undeclared.info = replace(undeclared.info, quality="low")
    voices.add_voice(undeclared)
    assert voices.choose("vi").info.id == "neural-any"  # still before espeak for a default request


def test_every_dialect_option_offers_the_same_dialects() -> None:
    for command in (["say", "x"], ["normalize"], ["broadcast", "send", "x", "--group", "g"]):
        out = subprocess.run(
            [sys.executable, "-m", "engine.cli", *command, "--dialect", "central"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 2, command
        assert "choose from " + ", ".join(repr(d) for d in DIALECTS) in out.stderr, command
