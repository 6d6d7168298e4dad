"""One set of synthesis limits: the engine refuses exactly what the API refuses."""

from __future__ import annotations

import math

import pytest

from engine.tts.limits import NOISE, SENTENCE_PAUSE_S, SPEED
from engine.tts.synthesizer import SpeechRequest


def test_speed_is_above_a_quarter_and_at_most_four() -> None:
    assert [v in SPEED for v in (0.25, 0.26, 1.0, 4.0, 4.01, 8.0, math.nan)] == [
        False, True, True, True, False, False, False,
    ]  # fmt: skip
    assert SPEED.problem(4.5) == "4.5 not in (0.25, 4]"


def test_the_synthesizer_refuses_what_the_api_refuses() -> None:
    SpeechRequest("Xin chào.", speed=4.0, noise_scale=2.0, noise_w=0.0, sentence_pause_s=10.0)
    with pytest.raises(ValueError, match=r"speed: 8 not in \(0.25, 4\]"):
        SpeechRequest("Xin chào.", speed=8)
    with pytest.raises(ValueError, match=r"noise_w: 3 not in \[0, 2\]"):
        SpeechRequest("Xin chào.", noise_w=3)
    with pytest.raises(ValueError, match=r"sentence_pause_s: 11 s not in 0\.\.10 s"):
        SpeechRequest("Xin chào.", sentence_pause_s=11)
    assert 2.0 in NOISE and 10.0 in SENTENCE_PAUSE_S
