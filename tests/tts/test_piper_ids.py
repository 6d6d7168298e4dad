"""Phoneme ids exactly as piper-tts 1.8 builds them, from the same text."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.tts.espeak import espeak
from engine.tts.voices.piper import PiperVoice, phoneme_ids
from tests.tts.sentences import ENGLISH, VIETNAMESE

piper_voice = pytest.importorskip("piper.voice")


def test_vietnamese_ids_equal_piper_tts(tiny_models: dict[str, Path]) -> None:
    reference = piper_voice.PiperVoice.load(tiny_models["piper"])
    ours = PiperVoice.load(tiny_models["piper"])
    texts = [*VIETNAMESE, " ".join(VIETNAMESE[:6])]
    assert len(VIETNAMESE) >= 30
    for text in texts:
        expected = [reference.phonemes_to_ids(p) for p in reference.phonemize(text)]
        got, skipped = ours.ids(text)
        assert got == expected, text
        assert not skipped


def test_english_ids_equal_piper_tts_with_the_joe_voice(joe_model: Path) -> None:
    """Same ids wherever both espeak-ng builds give the same phonemes; where the builds differ (piper-tts
    bundles a newer espeak-ng whose English dictionary differs for a few words), our ids from piper's
    phonemes are still piper's ids."""
    reference = piper_voice.PiperVoice.load(joe_model)
    ours = PiperVoice.load(joe_model)
    differing_builds = []
    for text in ENGLISH:
        ref_phonemes = reference.phonemize(text)
        expected = [reference.phonemes_to_ids(p) for p in ref_phonemes]
        assert [phoneme_ids(p, ours.config.phoneme_id_map)[0] for p in ref_phonemes] == expected
        got, _ = ours.ids(text)
        if got != expected:
            differing_builds.append(text)
            assert len(got) == len(expected), text  # same sentence structure, different word phonemes
    assert len(differing_builds) <= 3, differing_builds


def test_clause_punctuation_matches_piper_bridge() -> None:
    """Terminators and sentence ends read back from espeak-ng match piper's bridge, tricky cases too."""
    bridge = pytest.importorskip("piper.espeakbridge")
    phonemize_espeak = pytest.importorskip("piper.phonemize_espeak")
    bridge.initialize(str(phonemize_espeak.ESPEAK_DATA_DIR))
    texts = [
        "Hi!? Yes",
        "Hi?. Yes",
        "Hi... Yes",
        "Hi…",
        "Hello,\n\nworld",
        "Hello\nworld",
        "(Hi.) Yes",
        'Hi." Yes',
        "x . . y",
        "3. 4",
        ".",
        "Hi:yes",
        "Giá 3.5 kg; được",
        *VIETNAMESE[:5],
    ]
    for voice in ("vi", "en-us"):
        bridge.set_voice(voice)
        for text in texts:
            expected = [(term, end) for _, term, end in bridge.get_phonemes(text)]
            got = [(c.terminator, c.end_of_sentence) for c in espeak().phonemize(voice, text)]
            assert got == expected, (voice, text)


def test_unknown_phonemes_are_skipped_and_counted() -> None:
    id_map = {"^": [1], "_": [0], "$": [2], "a": [14]}
    ids, missing = phoneme_ids(["a", "ɓ", "a", "ɓ", "x"], id_map)
    assert ids == [1, 0, 14, 0, 14, 0, 2]
    assert missing == {"ɓ": 2, "x": 1}


def test_tone_marks_are_their_own_ids(tiny_models: dict[str, Path]) -> None:
    voice = PiperVoice.load(tiny_models["piper"])
    (ids,), _ = voice.ids("Trời đẹp.")
    nfd_marks = {
        voice.config.phoneme_id_map[c][0] for c in "\u0303\u032a" if c in voice.config.phoneme_id_map
    }
    digits = {voice.config.phoneme_id_map[d][0] for d in "123456789" if d in voice.config.phoneme_id_map}
    assert set(ids) & (nfd_marks | digits), "Vietnamese tones should appear as separate ids"
