"""The data tables stay consistent as people extend them: a typo in a row would misread every address or
unit that uses it, silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.tts.text import tables
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


def test_a_form_and_rule_twice_across_the_lexicon_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "abbr_vi.tsv").write_text("UBND\tủy ban nhân dân\talways\n", encoding="utf-8")
    (tmp_path / "abbr_vi_extra.tsv").write_text("UBND\tủy ban\talways\tsrc\n", encoding="utf-8")
    monkeypatch.setattr(tables, "DATA", tmp_path)
    rows.cache_clear()
    abbreviations.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"also in data/abbr_vi\.tsv"):
            abbreviations("abbr_vi")
    finally:
        rows.cache_clear()
        abbreviations.cache_clear()
