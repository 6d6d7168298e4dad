"""The three voice families behind one interface: what the inputs do to the audio."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from engine.tts.voices.base import SynthesisOptions
from engine.tts.voices.mms import MmsVoice, encode, read_tokens
from engine.tts.voices.piper import PiperVoice
from engine.tts.voices.registry import VoiceRegistry
from models import tiny


def dominant_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.fft.rfftfreq(audio.size, 1 / rate)[int(np.argmax(spectrum))])


def test_piper_duration_follows_ids_and_speed(tiny_models: dict[str, Path]) -> None:
    voice = PiperVoice.load(tiny_models["piper"])
    short = voice.synthesize("Xin chào.", SynthesisOptions())
    long = voice.synthesize("Xin chào các bạn thân mến.", SynthesisOptions())
    (ids,), _ = voice.ids("Xin chào.")
    assert short.sample_rate == 22_050
    assert short.audio.size == len(ids) * tiny.PIPER_HOP
    assert long.audio.size > short.audio.size
    slow = voice.synthesize("Xin chào.", SynthesisOptions(speed=0.5))
    fast = voice.synthesize("Xin chào.", SynthesisOptions(speed=2.0))
    assert slow.audio.size == 2 * short.audio.size
    assert fast.audio.size == short.audio.size // 2


def test_piper_honours_config_scales_and_noise_override(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    voice = PiperVoice.load(tiny_models["piper"])
    default = voice.synthesize("Xin chào.", SynthesisOptions())
    assert np.max(np.abs(default.audio)) == pytest.approx(0.1 + 0.5 * 0.667, abs=1e-3)  # config noise_scale
    quiet = voice.synthesize("Xin chào.", SynthesisOptions(noise_scale=0.0))
    assert np.max(np.abs(quiet.audio)) == pytest.approx(0.1, abs=1e-3)
    # the config's own length_scale is honoured (and speed divides it)
    import json

    model = tiny.piper_model(tmp_path, "vi_VN-slow-medium")
    config_path = model.with_name(model.name + ".json")
    config = json.loads(config_path.read_text())
    config["inference"]["length_scale"] = 1.5
    config_path.write_text(json.dumps(config))
    slow = PiperVoice.load(model).synthesize("Xin chào.", SynthesisOptions())
    assert slow.audio.size == int(default.audio.size * 1.5)


def test_piper_speakers_differ_by_name_and_number(tiny_models: dict[str, Path]) -> None:
    voice = PiperVoice.load(tiny_models["piper_multi"])
    assert voice.info.speakers == ("speaker_0", "speaker_1", "speaker_2")
    default = voice.synthesize("Xin chào.", SynthesisOptions())
    by_name = voice.synthesize("Xin chào.", SynthesisOptions(speaker="speaker_2"))
    by_number = voice.synthesize("Xin chào.", SynthesisOptions(speaker=2))
    assert dominant_hz(default.audio, 22_050) == pytest.approx(tiny.PIPER_PITCH_HZ, abs=5)
    assert dominant_hz(by_name.audio, 22_050) == pytest.approx(2 * tiny.PIPER_PITCH_HZ, abs=5)
    np.testing.assert_array_equal(by_name.audio, by_number.audio)
    with pytest.raises(ValueError, match="speaker"):
        voice.synthesize("Xin chào.", SynthesisOptions(speaker="nobody"))
    with pytest.raises(ValueError, match="speaker"):
        voice.synthesize("Xin chào.", SynthesisOptions(speaker=3))
    single = PiperVoice.load(tiny_models["piper"])
    with pytest.raises(ValueError, match="single speaker"):
        single.synthesize("Xin chào.", SynthesisOptions(speaker=1))


def test_mms_tokens_lowercase_drop_and_blanks(tiny_models: dict[str, Path]) -> None:
    tokens = read_tokens(tiny_models["mms"].with_name("tokens.txt"))
    assert tokens[" "] == 1 and tokens["ក"] == 2
    ids, dropped = encode("ក ខ", tokens, add_blank=True)
    assert ids == [0, tokens["ក"], 0, tokens[" "], 0, tokens["ខ"], 0]
    ids, dropped = encode("កX!x", {"ក": 5, "x": 7}, add_blank=False)
    assert ids == [5, 7, 7]  # upper-case X is read as x
    assert dropped == {"!": 1}


def test_mms_voice(tiny_models: dict[str, Path]) -> None:
    voice = MmsVoice(tiny_models["mms"])
    assert (voice.info.id, voice.info.language, voice.info.licence) == ("mms-khm", "km", "CC-BY-NC-4.0")
    out = voice.synthesize("សួស្តី abc", SynthesisOptions())
    ids, _ = encode("សួស្តី abc", voice.tokens, True)
    assert out.sample_rate == 16_000
    assert out.audio.size == len(ids) * tiny.MMS_HOP
    assert out.unread == {"a": 1, "b": 1, "c": 1}
    assert dominant_hz(out.audio, 16_000) == pytest.approx(tiny.MMS_PITCH_HZ, abs=5)
    slow = voice.synthesize("សួស្តី abc", SynthesisOptions(speed=0.5))
    assert slow.audio.size == 2 * out.audio.size
    assert voice.synthesize("abc", SynthesisOptions()).audio.size == 0  # nothing readable: no audio


def test_joe_voice_speaks(joe_model: Path) -> None:
    voice = PiperVoice.load(joe_model, intra_op_threads=1)
    text = "The commune office announces the vaccination schedule."
    out = voice.synthesize(text, SynthesisOptions())
    seconds = out.audio.size / out.sample_rate
    assert 2.0 < seconds < 6.0
    assert 0.05 < np.max(np.abs(out.audio)) <= 1.5
    faster = voice.synthesize(
        "The commune office announces the vaccination schedule.", SynthesisOptions(speed=1.5)
    )
    assert faster.audio.size < 0.8 * out.audio.size


def test_builtin_espeak_voices_speak_vietnamese_and_cantonese() -> None:
    voices = VoiceRegistry(builtin=True)
    ids = {info.id for info in voices.list()}
    assert {"espeak-vi", "espeak-yue"} <= ids
    for voice_id, text in (("espeak-vi", "Xin chào bà con."), ("espeak-yue", "各位街坊")):
        voice = voices.get(voice_id)
        assert voice.info.quality == "fallback"
        out = voice.synthesize(text, SynthesisOptions())
        assert out.audio.size / out.sample_rate > 0.3
        assert np.sqrt(np.mean(out.audio**2)) > 0.01
    assert voices.choose("vi", dialect="south").info.id == "espeak-vi-south"


def test_espeak_is_safe_from_many_threads() -> None:
    voice = VoiceRegistry().get("espeak-vi")
    expected = voice.synthesize("Một hai ba bốn năm.", SynthesisOptions()).audio
    results: list[np.ndarray] = []

    def speak() -> None:
        for _ in range(5):
            results.append(voice.synthesize("Một hai ba bốn năm.", SynthesisOptions()).audio)

    threads = [threading.Thread(target=speak) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    # espeak's pitch flutter carries state from one utterance to the next, so outputs differ by a few
    # samples; interleaved (unsafe) calls would garble them or cut them short.
    for audio in results:
        assert abs(audio.size - expected.size) < 0.01 * expected.size
        assert np.sqrt(np.mean(audio**2)) == pytest.approx(np.sqrt(np.mean(expected**2)), rel=0.1)


def test_registry_prefers_neural_voice_and_named_voice(registry: VoiceRegistry) -> None:
    assert registry.choose("vi").info.family == "piper"
    assert registry.choose("km").info.id == "mms-khm"
    assert registry.choose("vie", voice_id="espeak-vi").info.id == "espeak-vi"
    with pytest.raises(KeyError, match="voice_id"):
        registry.get("nope")
    with pytest.raises(KeyError, match="language"):
        registry.choose("fr")
    assert registry.get("mms-khm") is registry.get("mms-khm")  # loaded once, shared
