"""SSML say-as rendered as words: the author's instruction wins over what the normalizer would guess."""

from __future__ import annotations

import pytest

from engine.tts.text import normalize
from engine.tts.text.say_as import render
from engine.tts.text.ssml import SayAs, Text, parse


def run(text: str, kind: str, fmt: str | None = None) -> Text:
    return Text(text, None, SayAs(kind, fmt))


@pytest.mark.parametrize(
    ("text", "kind", "fmt", "spoken"),
    [
        ("UBND", "characters", None, "u bê en dê"),
        ("0913 456 789", "telephone", None, "không chín một ba, bốn năm sáu, bảy tám chín"),
        ("1.250", "cardinal", None, "một ngàn hai trăm năm mươi"),
        ("4", "ordinal", None, "thứ tư"),
        ("02/09/2025", "date", None, "ngày mùng hai tháng chín năm hai ngàn không trăm hai mươi lăm"),
        ("09/02/2025", "date", "mdy", "ngày mùng hai tháng chín năm hai ngàn không trăm hai mươi lăm"),
        ("10/2025", "date", "my", "tháng mười năm hai ngàn không trăm hai mươi lăm"),
        ("7:30", "time", None, "bảy giờ ba mươi phút"),
    ],
)
def test_vietnamese_say_as(text: str, kind: str, fmt: str | None, spoken: str) -> None:
    assert render(run(text, kind, fmt), "vi") == spoken


def test_the_north_reads_its_own_numbers() -> None:
    assert render(run("1.005", "cardinal"), "vi", "north") == "một nghìn không trăm linh năm"


@pytest.mark.parametrize(
    ("text", "kind", "spoken"),
    [
        ("១២៣", "cardinal", "មួយរយម្ភៃបី"),
        ("2", "ordinal", "ទីពីរ"),
        ("012 345 678", "telephone", "សូន្យ មួយ ពីរ, បី បួន ប្រាំ, ប្រាំមួយ ប្រាំពីរ ប្រាំបី"),
        ("15/10/2025", "date", "ថ្ងៃទីដប់ប្រាំ ខែតុលា ឆ្នាំពីរពាន់ម្ភៃប្រាំ"),
        ("8:15", "time", "ម៉ោងប្រាំបី ដប់ប្រាំនាទី"),
    ],
)
def test_khmer_say_as(text: str, kind: str, spoken: str) -> None:
    assert render(run(text, kind), "km") == spoken


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hôm qua", "date"),
        ("31/02/2025", "date"),
        ("13/2025", "date"),
        ("25:00", "time"),
        ("thứ hai", "ordinal"),
    ],
)
def test_content_that_does_not_fit_is_left_as_written(text: str, kind: str) -> None:
    assert render(run(text, kind), "vi") == text


def test_runs_without_say_as_and_other_languages_are_unchanged() -> None:
    assert render(Text("UBND xã", "vi"), "vi") == "UBND xã"
    assert render(run("12", "cardinal"), "en") == "12"


def test_a_rendered_run_reads_the_same_through_the_normalizer() -> None:
    (item,) = [i for i in parse('<speak><say-as interpret-as="characters">CSGT</say-as></speak>').items]
    assert isinstance(item, Text)
    spoken = render(item, "vi")
    assert normalize(spoken).text == spoken == "xê ét giê tê"
