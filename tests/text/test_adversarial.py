"""Bad input never crashes the front-end and never hides a digit: any text up to the API's limit gives a
reading, with warnings for what was spelled. (How fast pathological texts are read is measured in
bench/bench_text.py, not asserted here.)"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.tts.text import Normalized, normalize, numbers_km, sentences

LANGS = [("vi", "south"), ("vi", "north"), ("km", None)]
_DIGIT = re.compile(r"[0-9០-៩]")

# Pieces bulletins and attackers build texts from: digits, separators, letters of both scripts, combining
# marks, right-to-left and invisible characters, emoji, control characters.
_PIECES = [
    *"0123456789០១២៣៤៥៦៧៨៩",
    *".,/-–@:;‰%°+()'\"&#*~$€_",
    *"aAđĐbxXIVhgkmpuyế",
    *"កខាុ្៉",
    " ", "\n", "\t", "\r", "\u00a0",
    "\u0301", "\u0323", "\u200b", "\u200e", "\u202e", "\ufeff",
    "ا", "ש", "😀", "👍🏽", "\x00", "\x07", "\x1b", "²", "½", "٣", "Ⅳ",
    "UBND", "TP.", "km", "m2", "http://", "www.", ".vn", "gọi ", "ngày ", "tháng ", "số ", "thứ ",
    "ថ្ងៃទី", "ខែ", "លេខ ", "19001234", "0913 ", "+84", "113", "2/9", "11/2025", "1.000", "3,5", "CT-TTg",
]  # fmt: skip
_small_alphabet_runs = st.tuples(
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=4).map("".join),
    st.integers(min_value=1, max_value=200),
).map(lambda unit_times: unit_times[0] * unit_times[1])
_texts = st.one_of(
    st.text(max_size=200),  # any code points, controls and unassigned ones included
    st.text(st.characters(exclude_categories=()), max_size=50),  # lone surrogates too (a CLI's bad bytes)
    st.lists(st.sampled_from(_PIECES), max_size=60).map("".join),
    st.lists(_small_alphabet_runs, min_size=1, max_size=3).map("".join),
)


def _check(text: str, lang: str, dialect: str | None) -> Normalized:
    """Both entry points read the text; spans stay inside it; no Arabic or Khmer digit is left as is."""
    norm = normalize(text, lang, dialect)
    assert not _DIGIT.search(norm.text), norm.text[:200]
    span = norm.source_span(0, len(norm.text))
    assert 0 <= span.start <= span.end <= len(text)
    for w in norm.warnings:
        assert text[w.source_span.start : w.source_span.end] == w.source_text
    for sentence in sentences(text, lang, dialect):
        assert not _DIGIT.search(sentence.text), sentence.text[:200]
        for clause in sentence.clauses:
            assert 0 <= clause.source_span.start <= clause.source_span.end <= len(text)
    return norm


@settings(max_examples=200, deadline=None)
@given(_texts, st.sampled_from(LANGS))
def test_any_text_is_read_without_an_exception(text: str, lang_dialect: tuple[str, str | None]) -> None:
    _check(text, *lang_dialect)


# Each of these made the front-end raise or take seconds to minutes before (see bench/README.md).
ADVERSARIAL = [
    ("1", "vi"),
    ("1", "km"),
    ("១", "km"),
    ("1.", "vi"),
    ("1.", "km"),
    ("1,", "km"),
    ("១.", "km"),
    ("1/", "vi"),
    ("1/2/", "vi"),
    ("a-", "vi"),
    ("a-", "km"),
    ("UBND-VX/", "vi"),
    ("UBND.", "vi"),
    ("@", "vi"),
    ("x@", "vi"),
    ("a.b.", "vi"),
    ("a1", "vi"),
    ("1h", "vi"),
    ("X. ", "vi"),
    ("113 ", "vi"),
    ("1 - ", "vi"),
    ("+", "vi"),
]
SIZE = 12_000  # past the int-conversion limit (4,300 digits) and the recursion limit that failed before


@pytest.mark.parametrize(("unit", "lang"), ADVERSARIAL)
def test_long_pathological_runs_are_read(unit: str, lang: str) -> None:
    text = unit * (SIZE // len(unit))
    norm = _check(text, lang, None)
    assert norm.text


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("http://" + "a" * 50_000, "vi"),
        ("www." + "ab" * 20_000 + ".vn", "vi"),
        ("1" + ".000" * 5_000, "vi"),
        ("." * 20_000 + "x", "vi"),  # a run of marks not followed by a space: tried from each mark before
        ("!" * 20_000 + "ក", "km"),
    ],
)
def test_long_addresses_and_grouped_numbers(text: str, lang: str) -> None:
    _check(text, lang, None)


@pytest.mark.parametrize(
    ("digit", "lang", "word"), [("1", "vi", "một"), ("1", "km", "មួយ"), ("១", "km", "មួយ")]
)
def test_a_long_digit_run_is_read_digit_by_digit_with_a_warning(digit: str, lang: str, word: str) -> None:
    norm = normalize(digit * SIZE, lang)
    assert norm.text.count(word) == SIZE  # every digit said, none dropped
    assert [w.code for w in norm.warnings] == ["spelled_out"]


@pytest.mark.parametrize("lang", ["vi", "km"])
def test_a_long_decimal_chain_keeps_every_digit(lang: str) -> None:
    norm = normalize("1." * SIZE, lang)
    assert norm.text.count("một" if lang == "vi" else "មួយ") == SIZE


def test_amounts_up_to_fifteen_digits_are_numbers_longer_ones_digits() -> None:
    fifteen = normalize("Dự toán 999.999.999.999.999 đồng.").text
    assert "chín trăm chín mươi chín ngàn chín trăm chín mươi chín tỷ" in fifteen
    assert not normalize("Dự toán 999.999.999.999.999 đồng.").warnings
    sixteen = normalize("Dự toán 1.000.000.000.000.000 đồng.")
    assert sixteen.text == (
        "Dự toán một, không không không, không không không, không không không, không không không,"
        " không không không đồng."
    )
    assert [w.code for w in sixteen.warnings] == ["spelled_out"]
    assert sixteen.warnings[0].source_text == "1.000.000.000.000.000"
    km = normalize("១០០០០០០០០០០០០០០០ រៀល", "km")
    assert km.text.count("សូន្យ") == 15 and [w.code for w in km.warnings] == ["spelled_out"]


def test_an_account_number_after_its_cue_needs_no_warning() -> None:
    norm = normalize("Số tài khoản 1234567890123456789.")
    assert norm.text.startswith("Số tài khoản một hai ba, bốn năm sáu")
    assert not norm.warnings


def _km_number_reference(s: str) -> str:
    """Khmer number reading as first written (recursive, fine for short strings): the loop in
    numbers_km.number must read every short number the same way."""
    s = s.translate(numbers_km.TO_ASCII)
    for sep in " .,":
        groups = s.split(sep)
        grouped = len(groups) > 1 and 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
        if grouped and all(other not in s for other in " .," if other != sep):
            return numbers_km.cardinal(int("".join(groups)))
    for sep, word in ((",", "ក្បៀស"), (".", "ចុច")):
        whole, found, frac = s.rpartition(sep)
        if found and whole and frac.isdigit():
            small = not frac.startswith("0") and len(frac) <= 2
            return (
                _km_number_reference(whole)
                + word
                + (numbers_km.cardinal(int(frac)) if small else numbers_km.digits(frac))
            )
    if s.isdigit():
        return numbers_km.digits(s) if len(s) > 1 and int(s) == 0 else numbers_km.cardinal(int(s))
    return numbers_km.digits(s)


_km_numbers = st.lists(st.text("0123456789០៥", min_size=1, max_size=4), min_size=1, max_size=6).flatmap(
    lambda runs: st.lists(st.sampled_from(" .,"), min_size=len(runs) - 1, max_size=len(runs) - 1).map(
        lambda seps: runs[0] + "".join(sep + run for sep, run in zip(seps, runs[1:], strict=True))
    )
)


@settings(max_examples=300, deadline=None)
@given(_km_numbers)
def test_khmer_numbers_read_as_the_recursive_definition(s: str) -> None:
    if len(s.replace(" ", "").replace(".", "").replace(",", "")) <= numbers_km.MAX_DIGITS:
        assert numbers_km.number(s) == _km_number_reference(s)


_VI_LETTERS = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯYđĐbcghklmnpqrstvx"
_TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
_vi_words = st.lists(
    st.tuples(
        st.sampled_from(_VI_LETTERS), st.sampled_from(_TONES), st.sampled_from(["", "", "n", "ng", "ch"])
    ).map("".join),
    min_size=1,
    max_size=3,
).map("".join)
_vi_texts = st.lists(
    st.one_of(_vi_words, st.sampled_from([" ", " ", ", ", ". ", "\n", "2/9", "1.000", "UBND", "☎", "‰"])),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(_vi_texts, st.sampled_from(LANGS))
def test_decomposed_text_reads_as_composed(text: str, lang_dialect: tuple[str, str | None]) -> None:
    """NFD input (macOS, some web forms) is read as the same words, with spans into the text as sent."""
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    composed, decomposed = _check(nfc, *lang_dialect), _check(nfd, *lang_dialect)
    assert decomposed.text == composed.text
    assert [unicodedata.normalize("NFC", w.source_text) for w in decomposed.warnings] == [
        w.source_text for w in composed.warnings
    ]
    clauses = [
        [unicodedata.normalize("NFC", nfd[c.source_span.start : c.source_span.end]) for c in s.clauses]
        for s in sentences(nfd, *lang_dialect)
    ]
    assert clauses == [
        [nfc[c.source_span.start : c.source_span.end] for c in s.clauses]
        for s in sentences(nfc, *lang_dialect)
    ]


def test_decomposed_vietnamese_needs_no_warning() -> None:
    nfd = unicodedata.normalize("NFD", "Ủy ban nhân dân xã thông báo lịch cúp điện ngày 2/9.")
    norm = normalize(nfd)
    assert norm.text == "Ủy ban nhân dân xã thông báo lịch cúp điện ngày mùng hai tháng chín."
    assert not norm.warnings
    i = norm.text.index("điện")
    span = norm.source_span(i, i + len("điện"))
    assert nfd[span.start : span.end] == unicodedata.normalize("NFD", "điện")
