"""Property tests: whatever number or date is written, reading it back gives the same value; nothing the
front-end cannot read is dropped."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.tts.text import normalize
from engine.tts.text.numbers_km import cardinal as km_cardinal
from tests.text.readers import read_km, read_vi

KM_MONTHS = ("មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ")
TO_KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")
integers = st.integers(min_value=0, max_value=10**12)
dialects = st.sampled_from(["south", "north"])


def _grouped(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _between(text: str, before: str, after: str) -> str:
    m = re.search(rf"{before} (.+?) {after}", text)
    assert m, text
    return m.group(1)


@settings(max_examples=400, deadline=None)
@given(integers, dialects)
def test_every_integer_reads_back_vi(n: int, dialect: str) -> None:
    text = normalize(f"Có {_grouped(n)} người.", "vi", dialect).text
    assert read_vi(_between(text, "Có", "người")) == n


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=99_999_999), dialects)
def test_integers_without_separators_read_back_vi(n: int, dialect: str) -> None:
    text = normalize(f"Tổng cộng {n} đồng.", "vi", dialect).text
    assert read_vi(_between(text, "Tổng cộng", "đồng")) == n


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=99), dialects)
def test_decimals_read_back_vi(whole: int, frac: int, dialect: str) -> None:
    text = normalize(f"Đạt {_grouped(whole)},{frac} tấn.", "vi", dialect).text
    left, _, right = _between(text, "Đạt", "tấn").partition(" phẩy ")
    assert read_vi(left) == whole
    assert read_vi(right) == frac


@settings(max_examples=400, deadline=None)
@given(integers)
def test_every_integer_reads_back_km(n: int) -> None:
    assert read_km(km_cardinal(n)) == n
    text = normalize(f"មាន {str(n).translate(TO_KHMER_DIGITS)} នាក់។", "km").text
    assert read_km(_between(text, "មាន", "នាក់")) == n


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)), st.booleans(), dialects)
def test_dates_read_back_vi(day: date, padded: bool, dialect: str) -> None:
    written = f"{day.day:02d}/{day.month:02d}/{day.year}" if padded else f"{day.day}/{day.month}/{day.year}"
    text = normalize(f"Hạn chót là ngày {written}.", "vi", dialect).text
    m = re.fullmatch(r"Hạn chót là ngày (?:mùng |mồng )?(.+?) tháng (.+?) năm (.+)\.", text)
    assert m, text
    assert (m.group(1).startswith(("mùng", "mồng"))) is False
    month = 4 if m.group(2) == "tư" else read_vi(m.group(2))
    assert (read_vi(m.group(1)), month, read_vi(m.group(3))) == (day.day, day.month, day.year)
    assert (" mùng " in text or " mồng " in text) == (day.day <= 10)


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_dates_read_back_km(day: date) -> None:
    written = f"{day.day:02d}/{day.month:02d}/{day.year}".translate(TO_KHMER_DIGITS)
    text = normalize(f"ប្រជុំ {written}។", "km").text
    m = re.fullmatch(r"ប្រជុំ ថ្ងៃទី(\S+) ខែ(\S+) ឆ្នាំ(\S+)។", text)
    assert m, text
    assert (read_km(m.group(1)), KM_MONTHS.index(m.group(2)) + 1, read_km(m.group(3))) == (
        day.day,
        day.month,
        day.year,
    )


_ALPHABET = st.sampled_from(
    [*"0123456789០១២៣៤៥ aAđĐbcxXIV.,:;/-–%‰°C&@#*()~$€☎★→\n", "km", "ha", "UBND", "Q.", "h"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map("".join), st.sampled_from(["vi", "km"]))
def test_fail_closed_no_digit_is_left_and_nothing_crashes(text: str, lang: str) -> None:
    norm = normalize(text, lang)
    assert not re.search(r"[0-9០-៩]", norm.text), (text, norm.text)
    for ch in "☎★€#$":
        if ch in text:
            assert ch not in norm.text
    span = norm.source_span(0, len(norm.text))
    assert 0 <= span.start <= span.end <= len(text)
    unknown = {w.source_text for w in norm.warnings if w.code == "unknown_symbol"}
    for ch in "☎★":
        if ch in text:
            assert ch in unknown, (text, norm.warnings)
