"""A deployment lexicon entry: checked before it is stored, and read wherever the word stands, even a
word the front-end has already seen and remembered as plain Vietnamese."""

from __future__ import annotations

import pytest

from engine.tts.text import normalize
from engine.tts.text.entries import Entry, check_entry


def test_an_entry_reads_a_word_already_seen_as_plain() -> None:
    assert normalize("Họp tại Xanh Tươi.").text == "Họp tại Xanh Tươi."  # remembered as plain words
    extra = {"Xanh": "xanh lá"}
    assert normalize("Họp tại Xanh Tươi.", lexicon=extra).text == "Họp tại xanh lá Tươi."
    assert normalize("Tươi Xanh Tươi.", lexicon=extra).text == "Tươi xanh lá Tươi."  # inside a plain run


def test_a_good_entry_is_cleaned_and_kept() -> None:
    entry = check_entry(Entry(" HTXTP ", "hợp tác xã  tân phú", "vi-VN", " xã Tân Phú "))
    assert entry == Entry("HTXTP", "hợp tác xã tân phú", "vi", "xã Tân Phú")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (Entry("", "x"), "entry.written: empty"),
        (Entry("Tân Phú", "tân phú"), "entry.written: 'Tân Phú' must be one word"),
        (Entry("2025", "hai"), "entry.written: '2025' is not read as one word"),
        (Entry("3-1", "ba một"), "entry.written: '3-1' is not read as one word"),
        (Entry("HTXTP", ""), "entry.spoken: empty"),
        (Entry("HTXTP", "hợp tác xã 2"), "entry.spoken: 'hợp tác xã 2' must be words only"),
        (Entry("HTXTP", "<b>x</b>"), "entry.spoken:"),
        (Entry("HTXTP", "x", "en"), "entry.language: only Vietnamese"),
        (Entry("HTXTP", "សហភាព", "km"), "entry.written: 'HTXTP' must be in Khmer script"),
        (Entry("ស.១", "សហភាព", "km"), "entry.written: 'ស.១' must be in Khmer script"),
        (Entry("ស.ស.យ.ក", "youth union", "km"), "entry.spoken: 'youth union' must be Khmer words only"),
        (Entry("ស.ស.យ.ក", "សហភាព ១", "km"), "entry.spoken: 'សហភាព ១' must be Khmer words only"),
        (Entry("HTXTP", "x", "zz"), "entry.language: unsupported"),
        (Entry("HTXTP", "x", "vi", "a\x00b"), "entry.note:"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_field(entry: Entry, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        check_entry(entry)


def test_a_khmer_entry_reads_where_it_stands_apart_and_is_listed() -> None:
    entry = check_entry(Entry("ស.ស.យ.ក", "សហភាពសហព័ន្ធយុវជនកម្ពុជា", "khm"))
    assert entry.language == "km"
    own = {entry.written: entry.spoken}
    read = normalize("ការប្រជុំ ស.ស.យ.ក ថ្ងៃទី១៥ ព.ស. ២៥៦៨។", "km", lexicon=own)
    assert read.text == "ការប្រជុំ សហភាពសហព័ន្ធយុវជនកម្ពុជា ថ្ងៃទីដប់ប្រាំ ពុទ្ធសករាជ ពីរពាន់ប្រាំរយហុកសិបប្រាំបី។"
    assert [(u.written, u.deployment, u.source_span.start) for u in read.lexicon] == [
        ("ស.ស.យ.ក", True, 10),
        ("ព.ស.", False, 27),
    ]
    # inside a longer Khmer word the letters are that word's: left as written
    assert normalize("កស.ស.យ.ក", "km", lexicon=own).text == "កស.ស.យ.ក"
