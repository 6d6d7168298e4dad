"""SSML say-as rendered as words, so the normalizer reads an author's explicit instruction as given.

``render(run, lang, dialect)`` turns one ssml.Text into the words to speak: "<say-as
interpret-as="characters">UBND</say-as>" is spelled, "telephone" is read digit by digit in its groups,
"date" follows its format ("dmy" unless given; Vietnamese and Khmer write day first), "ordinal" is "thứ
nhất" / ទីមួយ. A run whose content does not fit its interpret-as (a "date" with letters, a month 13) is
returned as written, for the normalizer to read as it would any text. A sub's alias, a run without
say-as, and languages without reading rules come back unchanged.
"""

from __future__ import annotations

import re

from . import dates_vi, numbers_km, numbers_vi, spell
from .normalize import resolve_dialect
from .numbers_vi import Dialect
from .rules_km import MONTHS
from .ssml import Text

_DIGITS = re.compile(r"\d+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PARTS = re.compile(r"[0-9]+")
_CLOCK = re.compile(r"(\d{1,2})[:hg.](\d{2})(?:[:.](\d{2}))?|(\d{1,2})h?")


def render(run: Text, lang: str, dialect: str | None = None) -> str:
    """The words for ``run`` in ``lang`` (a code resolve_language gives)."""
    if run.say_as is None or lang not in ("vi", "km"):
        return run.text
    kind, text = run.say_as.interpret_as, run.text.strip()
    if lang == "km":
        out = _khmer(kind, text.translate(numbers_km.TO_ASCII), run.say_as.format)
    else:
        d = resolve_dialect("vi", dialect)
        assert d is not None
        out = _vietnamese(kind, text, run.say_as.format, d)
    return run.text if out is None else out


def _vietnamese(kind: str, text: str, fmt: str | None, d: Dialect) -> str | None:
    if kind == "characters":
        return spell.letters(text.replace(" ", ""))
    if kind == "telephone":
        return numbers_vi.read_digits(text.lstrip("+")) if _DIGITS.search(text) else None
    if kind == "cardinal":
        return _NUMBER.sub(lambda m: numbers_vi.number(m.group(), d), text) if _NUMBER.search(text) else None
    if kind == "ordinal":
        return f"thứ {numbers_vi.ordinal(int(text), d)}" if text.isdecimal() and len(text) <= 6 else None
    if kind == "date":
        ymd = _date(text, fmt)
        if ymd is None:
            return None
        day, month, year = ymd
        return (
            dates_vi.date(day, month or 0, year, d) if month else f"năm {numbers_vi.cardinal(year or 0, d)}"
        )
    clock = _clock(text)
    if clock is None:
        return None
    h, m, s = clock
    out = dates_vi.clock(h, m, d)
    return f"{out} {numbers_vi.cardinal(s, d)} giây" if s else out


def _khmer(kind: str, text: str, fmt: str | None) -> str | None:
    if kind == "characters":
        return " ".join(numbers_km.DIGITS[int(c)] if c.isdecimal() else c for c in text.replace(" ", ""))
    if kind == "telephone":
        return numbers_km.digit_groups(re.split(r"[ .-]", text.lstrip("+"))) if _DIGITS.search(text) else None
    if kind == "cardinal":
        return _NUMBER.sub(lambda m: numbers_km.number(m.group()), text) if _NUMBER.search(text) else None
    if kind == "ordinal":
        return f"ទី{numbers_km.cardinal(int(text))}" if text.isdecimal() and len(text) <= 6 else None
    if kind == "date":
        ymd = _date(text, fmt)
        if ymd is None:
            return None
        day, month, year = ymd
        words = [f"ថ្ងៃទី{numbers_km.cardinal(day)}"] if day else []
        words += [f"ខែ{MONTHS[month - 1]}"] if month else []
        words += [f"ឆ្នាំ{numbers_km.cardinal(year)}"] if year is not None else []
        return " ".join(words)
    clock = _clock(text)
    if clock is None:
        return None
    h, m, _ = clock
    return f"ម៉ោង{numbers_km.cardinal(h)}" + (f" {numbers_km.cardinal(m)}នាទី" if m else "")


def _date(text: str, fmt: str | None) -> tuple[int | None, int | None, int | None] | None:
    """(day, month, year) of a numeric date in ``fmt`` (default dmy, or what the part count allows)."""
    parts = _PARTS.findall(text)
    if not parts or _PARTS.sub("", text).strip(" /.-") or any(len(p) > 4 for p in parts):
        return None
    fmt = fmt or {3: "dmy", 2: "dm", 1: "y"}.get(len(parts), "")
    if len(fmt) != len(parts):
        return None
    got = dict(zip(fmt, (int(p) for p in parts), strict=True))
    day, month, year = got.get("d"), got.get("m"), got.get("y")
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None and (month is None or not dates_vi.valid_date(day, month, year)):
        return None
    return day, month, year


def _clock(text: str) -> tuple[int, int | None, int | None] | None:
    m = _CLOCK.fullmatch(text.replace(" ", ""))
    if m is None:
        return None
    hours = int(m.group(1) or m.group(4))
    minutes = int(m.group(2)) if m.group(2) else None
    seconds = int(m.group(3)) if m.group(3) else None
    if hours > 24 or (minutes or 0) > 59 or (seconds or 0) > 59:
        return None
    return hours, minutes, seconds
