"""The interface the synthesizer and the API rely on: languages, dialects, spans, sentences, clauses."""

from __future__ import annotations

import pytest

from engine.tts.text import SUPPORTED_LANGUAGES, Normalized, Span, normalize, sentences


def test_supported_languages_include_vietnamese_khmer_and_the_voices_languages() -> None:
    for code in ("vi", "km", "en", "yue", "blt", "bdq", "cmo", "bru"):
        assert code in SUPPORTED_LANGUAGES


@pytest.mark.parametrize("lang", ["vi", "vie", "VI", "vi-VN"])
def test_vietnamese_language_codes(lang: str) -> None:
    assert normalize("15 người", lang).text == "mười lăm người"


@pytest.mark.parametrize("lang", ["km", "khm", "km-KH"])
def test_khmer_language_codes(lang: str) -> None:
    assert normalize("១៥ នាក់", lang).text == "ដប់ប្រាំ នាក់"


def test_unknown_language_names_the_field() -> None:
    with pytest.raises(ValueError, match="lang"):
        normalize("xin chào", "xx")


def test_bad_dialect_names_the_field() -> None:
    with pytest.raises(ValueError, match="dialect"):
        normalize("1000", "vi", "central")
    with pytest.raises(ValueError, match="dialect"):
        sentences("១០០", "km", "south")


def test_dialects_differ_where_speakers_do() -> None:
    assert normalize("1.005 hộ", "vi", "south").text == "một ngàn không trăm lẻ năm hộ"
    assert normalize("1.005 hộ", "vi", "north").text == "một nghìn không trăm linh năm hộ"
    assert normalize("1.005 hộ", "vi").text == normalize("1.005 hộ", "vi", "south").text


def test_other_languages_get_whitespace_cleanup_only() -> None:
    assert normalize("  It is   15  degrees \n today ", "en").text == "It is 15 degrees today"


def test_source_span_maps_readings_back_to_their_token() -> None:
    text = "Ngày 2/9 có 15 hộ."
    norm = normalize(text)
    assert isinstance(norm, Normalized)
    i = norm.text.index("mười lăm")
    span = norm.source_span(i, i + len("mười lăm"))
    assert text[span.start : span.end] == "15"
    j = norm.text.index("hộ")
    span = norm.source_span(j, j + 2)
    assert text[span.start : span.end] == "hộ"
    whole = norm.source_span(0, len(norm.text))
    assert whole == Span(0, len(text))


def test_source_span_rejects_a_range_outside_the_output() -> None:
    norm = normalize("15 hộ")
    with pytest.raises(ValueError):
        norm.source_span(3, 1000)


def test_sentences_carry_source_spans_and_clauses() -> None:
    text = "UBND TP. Vĩnh Long thông báo. Từ 7h30 đến 11h, cúp điện tại P. 5; mong bà con thông cảm."
    out = sentences(text)
    assert [text[s.source_span.start : s.source_span.end] for s in out] == [
        "UBND TP. Vĩnh Long thông báo.",
        "Từ 7h30 đến 11h, cúp điện tại P. 5; mong bà con thông cảm.",
    ]
    second = out[1]
    assert [c.text for c in second.clauses] == [
        "Từ bảy giờ ba mươi phút đến mười một giờ,",
        "cúp điện tại phường năm;",
        "mong bà con thông cảm.",
    ]
    for clause in second.clauses:
        src = text[clause.source_span.start : clause.source_span.end]
        assert src.split()[0] in ("Từ", "cúp", "mong")
