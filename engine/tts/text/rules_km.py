"""Khmer bulletin text to speakable words: numbers in Khmer or Arabic digits, dates, times, units.

Khmer writes words without spaces, so readings are joined to their neighbours exactly as the source
joins the digits (ថ្ងៃទី១៥ -> ថ្ងៃទីដប់ប្រាំ). Latin-script words are left as written and reported, since
a Khmer voice cannot say them.
"""

from __future__ import annotations

import re
from functools import cache

from . import numbers_km
from .builder import Builder
from .model import Normalized
from .tables import mapping

MONTHS = ("មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ")
_D = "[0-9០-៩]"
_TOKEN = re.compile(
    rf"""
    (?P<date>(?<![0-9០-៩]){_D}{{1,2}}(?P<sep>[/.-]){_D}{{1,2}}(?P=sep){_D}{{4}}(?![0-9០-៩]))
    |(?P<time>(?<![0-9០-៩]){_D}{{1,2}}[:h]{_D}{{2}}(?![0-9០-៩]))
    |(?P<phone>(?<![0-9០-៩])[0០]{_D}{{2,3}}[ .]?{_D}{{3}}[ .]?{_D}{{3,4}}(?![0-9០-៩]))
    |(?P<number>{_D}{{1,3}}(?:\ {_D}{{3}})+(?![0-9០-៩])|{_D}+(?:[.,]{_D}+)*)
    |(?P<latin>[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+)
    """,
    re.X,
)
_GAP = re.compile(r"(?P<ws>\s+)|(?P<dash>[-–—])|(?P<text>[\u1780-\u17dd\u17f0-\u17f9\u19e0-\u19ff.,;:!?…]+)"
                  r"|(?P<quote>[\"'“”‘’«»()\[\]])|(?P<sym>.)", re.S)  # fmt: skip
_NUMERIC = frozenset({"date", "time", "phone", "number"})


@cache
def _unit_pattern() -> re.Pattern[str]:
    alt = "|".join(re.escape(k) for k in sorted(mapping("units_km"), key=len, reverse=True))
    return re.compile(rf"\s?(?P<unit>{alt})(?![A-Za-z])")


def _ints(token: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", token.translate(numbers_km.TO_ASCII))]


def normalize_km(text: str, start: int = 0, end: int | None = None) -> Normalized:
    end = len(text) if end is None else end
    b = Builder(text, spaced=False)
    prev = ""
    pos = start
    while pos < end:
        m = _TOKEN.search(text, pos, end)
        gap_end = m.start() if m else end
        _gap(b, text, pos, gap_end, prev, (m.lastgroup or "") if m else "")
        if m is None:
            break
        kind = m.lastgroup or ""
        pos = _token(b, text, m, kind)
        prev = kind
    return b.build()


def _token(b: Builder, text: str, m: re.Match[str], kind: str) -> int:
    tok, a, z = m.group(), m.start(), m.end()
    before = text[max(0, a - 8) : a].rstrip()
    if kind == "date":
        day, month, year = _ints(tok)
        if 1 <= day <= 31 and 1 <= month <= 12:
            head = "" if before.endswith("ថ្ងៃទី") else "ថ្ងៃទី"
            spoken = f"{head}{numbers_km.cardinal(day)} ខែ{MONTHS[month - 1]} ឆ្នាំ{numbers_km.cardinal(year)}"
            b.say(spoken, a, z)
            return z
    elif kind == "time":
        hours, minutes = _ints(tok)
        if hours <= 24 and minutes < 60:
            head = "" if before.endswith("ម៉ោង") else "ម៉ោង"
            spoken = head + numbers_km.cardinal(hours)
            if minutes:
                spoken += f" {numbers_km.cardinal(minutes)}នាទី"
            b.say(spoken, a, z)
            return z
    elif kind == "phone":
        b.say(" ".join(numbers_km.digits(g) for g in re.split(r"[ .]", tok)), a, z)
        return z
    elif kind == "latin":
        b.copy(a, z)
        b.warn("foreign_word", f"{tok!r} is in Latin script; a Khmer voice may not say it", a, z, tok)
        return z
    if kind == "number" and before.endswith("ខែ") and tok.translate(numbers_km.TO_ASCII).isdigit():
        month = int(tok.translate(numbers_km.TO_ASCII))
        if 1 <= month <= 12:
            b.say(MONTHS[month - 1], a, z)
            return z
    b.say(numbers_km.number(tok), a, z)
    u = _unit_pattern().match(text, z)
    if u is not None:
        b.say(mapping("units_km")[u.group("unit")], u.start("unit"), u.end())
        return u.end()
    return z


def _gap(b: Builder, text: str, start: int, end: int, prev: str, next_kind: str) -> None:
    for g in _GAP.finditer(text, start, end):
        kind, a, z = g.lastgroup, g.start(), g.end()
        if kind == "ws":
            b.space(a, z)
        elif kind == "text":
            b.copy(a, z)
        elif kind == "quote":
            continue
        elif kind == "dash":
            if prev in _NUMERIC and next_kind in _NUMERIC and not text[z:end].strip():
                b.say("ដល់", a, z)
            elif text[:a].rstrip(" \t")[-1:] not in ("", "\n"):
                b.pause(a, z)
        else:
            ch = text[a:z]
            reading = mapping("symbols_km").get(ch)
            if reading is None:
                reading = "និមិត្តសញ្ញា"
                b.warn("unknown_symbol", f"no Khmer reading for {ch!r} (U+{ord(ch):04X})", a, z, reading)
            b.say(reading, a, z)
