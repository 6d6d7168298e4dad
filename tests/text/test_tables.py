"""The data tables stay consistent as people extend them: a typo in a row would misread every address or
unit that uses it, silently."""

from __future__ import annotations

import pytest

from engine.tts.text.spell import word_syllables
from engine.tts.text.tables import DATA, abbreviations, mapping, rows


@pytest.mark.parametrize("name", sorted(p.stem for p in DATA.glob("*.tsv")))
def test_every_table_loads(name: str) -> None:
    assert rows(name)


def test_toneless_rows_are_their_reading_without_tones() -> None:
    for toneless, toned in mapping("toneless_vi").items():
        assert word_syllables(toned) == toneless.split(), (toneless, toned)


def test_abbreviation_rows_have_known_conditions() -> None:
    assert abbreviations("abbreviations_vi")["BĐ"] == {"before_name": "báo động"}


def test_khmer_loanwords_are_khmer_script() -> None:
    for latin, khmer in mapping("loanwords_km").items():
        assert latin.isascii() and latin == latin.lower()
        assert all("\u1780" <= ch <= "\u17ff" for ch in khmer), (latin, khmer)
