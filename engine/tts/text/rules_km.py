"""Khmer bulletin text to speakable words: numbers in Khmer or Arabic digits, dates, times, units.

Khmer writes words without spaces, so readings are joined to their neighbours exactly as the source
joins the digits (ថ្ងៃទី១៥ -> ថ្ងៃទីដប់ប្រាំ). Latin-script words a table knows (Facebook, COVID) are read in
Khmer; the others are left as written and reported, since a Khmer voice cannot say them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from . import numbers_km
from .builder import Builder
from .lines import SeenBefore, line_start
from .model import Normalized
from .tables import mapping

MONTHS = ("មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ")
_D = "[0-9០-៩]"
_NO_D = "(?![0-9០-៩])"
_HOTLINE = "[1១][89៨៩][0០]{2}"  # 1800 / 1900 numbers: grouped, or right after លេខ
_TOKEN = re.compile(
    rf"""
    (?P<date>(?<![0-9០-៩]){_D}{{1,2}}(?P<sep>[/.-]){_D}{{1,2}}(?P=sep){_D}{{4}}{_NO_D})
    |(?P<time>(?<![0-9០-៩]){_D}{{1,2}}[:h]{_D}{{2}}{_NO_D})
    |(?P<monthyear>(?<![0-9០-៩/]){_D}{{1,2}}/{_D}{{4}}{_NO_D})
    |(?P<daymonth>(?<![0-9០-៩/]){_D}{{1,2}}/{_D}{{1,2}}(?![0-9០-៩/]))
    |(?P<phone>(?<![0-9០-៩])(?:[0០]{_D}{{2,3}}(?:[ .]?{_D}{{3,4}}){{2}}
        |{_HOTLINE}[ .]{_D}{{4}}|(?:(?<=លេខ)|(?<=លេខ\ )){_HOTLINE}{_D}{{4}}){_NO_D})
    |(?P<number>{_D}{{1,3}}(?:\ {_D}{{3}})+{_NO_D}|{_D}+(?:[.,]{_D}+)*)
    |(?P<latin>[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+)
    """,
    re.X,
)
_GAP = re.compile(r"(?P<ws>\s+)|(?P<dash>[-–—])|(?P<text>[\u1780-\u17dd\u17f0-\u17f9\u19e0-\u19ff.,;:!?…]+)"
                  r"|(?P<quote>[\"'“”‘’«»()\[\]])|(?P<sym>.)", re.S)  # fmt: skip
_NUMERIC = frozenset({"date", "time", "phone", "number", "monthyear", "daymonth"})
_LONG = "a number longer than any amount (15 digits) is read digit by digit"
_EMERGENCY = frozenset({"111", "112", "113", "114", "115"})
_CALLING_WORDS = ("ទូរស័ព្ទ", "ហៅ", "ទាក់ទង")  # words of calling: "ទូរស័ព្ទទៅលេខ ១១៤" is said digit by digit
_CALLING = re.compile("|".join(_CALLING_WORDS))
_CALLING_LONGEST = max(len(w) for w in _CALLING_WORDS)
_SCORE = re.compile("ឈ្នះ|ចាញ់|ស្មើ|លទ្ធផល|ពិន្ទុ")  # "ឈ្នះ ៣-១" is a score (បីទល់មួយ), not a range
_ACCOUNT = ("គណនី", "គណនីលេខ", "លេខគណនី", "អត្តសញ្ញាណប័ណ្ណលេខ")  # grouped digits after these: said one by one


@cache
def _abbreviation_pattern(extra: tuple[str, ...] = ()) -> re.Pattern[str]:
    """The dotted abbreviations of data/abbreviations_km.tsv and a deployment's own written forms
    (``extra``), final dot optional, longest first. Khmer writes words without spaces, so a form is read
    only where no Khmer letter touches it: inside a longer word it is some other word's letters."""
    forms = sorted({*mapping("abbreviations_km"), *extra}, key=len, reverse=True)
    alt = "|".join(
        re.escape(f.rstrip(".")) + (r"\.?" if f.endswith(".") else r"(?:\.(?=\s))?") for f in forms
    )
    return re.compile(rf"(?<![\u1780-\u17d3])(?:{alt})(?![\u1780-\u17d3])")  # letters, not ។


def _abbreviation_reading(written: str) -> str:
    table = mapping("abbreviations_km")
    return table.get(written) or table.get(written + ".") or table[written.rstrip(".")]


@cache
def _unit_pattern() -> re.Pattern[str]:
    alt = "|".join(re.escape(k) for k in sorted(mapping("units_km"), key=len, reverse=True))
    return re.compile(rf"\s?(?P<unit>(?:{alt})(?:/(?:{alt}))?)(?![A-Za-z])")


def _unit_reading(unit: str) -> str:
    """A unit, or "A/B" as A ក្នុងមួយ B ("g/l": ក្រាមក្នុងមួយលីត្រ)."""
    units = mapping("units_km")
    if unit in units:
        return units[unit]
    a, _, b = unit.partition("/")
    return f"{units[a]}ក្នុងមួយ{units[b]}"


def _ints(token: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", token.translate(numbers_km.TO_ASCII))]


def normalize_km(
    text: str, start: int = 0, end: int | None = None, lexicon: Mapping[str, str] | None = None
) -> Normalized:
    """``lexicon``: a deployment's Khmer entries (written -> spoken), read before the built-in table."""
    end = len(text) if end is None else end
    b = Builder(text, spaced=False)
    own = dict(lexicon or {})
    calling = SeenBefore(text, start, _CALLING, _CALLING_LONGEST)
    prev = ""
    pos = start
    while pos < end:
        m = _TOKEN.search(text, pos, end)
        gap_end = m.start() if m else end
        _gap(b, text, pos, gap_end, prev, (m.lastgroup or "") if m else "", own)
        if m is None:
            break
        kind = m.lastgroup or ""
        pos = _token(b, text, m, kind, prev, start, calling)
        prev = kind
    return b.build()


def _token(
    b: Builder, text: str, m: re.Match[str], kind: str, prev: str, lo: int, calling: SeenBefore
) -> int:
    tok, a, z = m.group(), m.start(), m.end()
    before = text[max(lo, a - 8) : a].rstrip()
    if kind == "date":
        day, month, year = _ints(tok)
        if 1 <= day <= 31 and 1 <= month <= 12:
            head = "" if before.endswith("ថ្ងៃទី") else "ថ្ងៃទី"
            b.say(
                f"{head}{numbers_km.cardinal(day)} ខែ{MONTHS[month - 1]} ឆ្នាំ{numbers_km.cardinal(year)}", a, z
            )
            return z
    elif kind == "daymonth":
        day, month = _ints(tok)
        if 1 <= day <= 31 and 1 <= month <= 12 and before.endswith(("ថ្ងៃទី", "ថ្ងៃ")):
            b.say(f"{numbers_km.cardinal(day)} ខែ{MONTHS[month - 1]}", a, z)  # ថ្ងៃទី ២/៩
            return z
        return _ratio(b, tok, a, z)
    elif kind == "monthyear":
        month, year = _ints(tok)
        if 1 <= month <= 12:
            head = "" if before.endswith("ខែ") else "ខែ"
            b.say(f"{head}{MONTHS[month - 1]} ឆ្នាំ{numbers_km.cardinal(year)}", a, z)
            return z
        return _ratio(b, tok, a, z)
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
    elif kind == "number" and " " in tok and text[max(lo, a - 24) : a].rstrip().endswith(_ACCOUNT):
        b.say(numbers_km.digit_groups(tok.split(" ")), a, z)  # an account number in its groups
        return z
    elif kind == "latin":
        return _latin(b, text, m, prev)
    ascii_tok = tok.translate(numbers_km.TO_ASCII)
    month = ascii_tok.isdecimal() and len(ascii_tok) <= 2 and 1 <= int(ascii_tok) <= 12
    if kind == "number" and before.endswith("ខែ") and month:
        b.say(MONTHS[int(ascii_tok) - 1], a, z)
        return z
    if ascii_tok in _EMERGENCY and before.endswith("លេខ") and calling(a):
        b.say(numbers_km.digits(tok), a, z)
        return z
    spoken = numbers_km.number(tok)
    b.say(spoken, a, z)
    if len(tok) > numbers_km.MAX_DIGITS and numbers_km.amount_digits(tok) > numbers_km.MAX_DIGITS:
        b.warn("spelled_out", f"{_LONG} ({numbers_km.amount_digits(tok)} digits)", a, z, spoken)
    u = _unit_pattern().match(text, z)
    if u is not None:
        b.say(_unit_reading(u.group("unit")), u.start("unit"), u.end())
        return u.end()
    return z


def _ratio(b: Builder, tok: str, a: int, z: int) -> int:
    first, second = _ints(tok)
    b.say(f"{numbers_km.cardinal(first)}ក្នុងចំណោម{numbers_km.cardinal(second)}", a, z)
    return z


def _latin(b: Builder, text: str, m: re.Match[str], prev: str) -> int:
    tok, a, z = m.group(), m.start(), m.end()
    if tok in ("x", "X") and prev == "number" and re.match(r"\s*[0-9០-៩]", text[z : z + 3]):
        b.say("គុណ", a, z)  # ៣ x ៤ ម៉ែត្រ
        return z
    reading = mapping("loanwords_km", fold_case=True).get(tok.lower())
    if reading is not None:
        if re.match(r"-[0-9០-៩]", text[z : z + 2]):
            z += 1  # COVID-19: the name and its number are one word
        b.say(reading, a, z)
        return z
    b.copy(a, z)
    b.warn("foreign_word", f"{tok!r} is in Latin script; a Khmer voice may not say it", a, z, tok)
    return z


def _text(b: Builder, text: str, start: int, end: int, own: Mapping[str, str]) -> None:
    """Khmer text as written, but for the dotted abbreviations (ព.ស., គ.ម) and the deployment's own
    entries, read as their words."""
    pos = start
    for m in _abbreviation_pattern(tuple(sorted(own))).finditer(text, start, end):
        b.copy(pos, m.start())
        form = m.group()
        written = next((w for w in (form, form + ".", form.rstrip(".")) if w in own), None)
        reading = own[written] if written is not None else _abbreviation_reading(form)
        b.say(reading, m.start(), m.end())
        b.used(written or form, reading, written is not None, m.start(), m.end())
        pos = m.end()
    b.copy(pos, end)


def _gap(
    b: Builder, text: str, start: int, end: int, prev: str, next_kind: str, own: Mapping[str, str]
) -> None:
    blank_from = len(text[start:end].rstrip()) + start  # after it the gap is only whitespace
    for g in _GAP.finditer(text, start, end):
        kind, a, z = g.lastgroup, g.start(), g.end()
        if kind == "ws":
            b.space(a, z)
        elif kind == "text":
            _text(b, text, a, z, own)
        elif kind == "quote":
            continue
        elif kind == "dash":
            if prev in _NUMERIC and next_kind in _NUMERIC and z >= blank_from:
                b.say("ទល់" if _SCORE.search(text, max(0, a - 24), a) else "ដល់", a, z)
            elif not line_start(text, a):
                b.pause(a, z)
        else:
            ch = text[a:z]
            if ch == "~" and prev in _NUMERIC and next_kind in _NUMERIC and z >= blank_from:
                b.say("ដល់", a, z)  # "២៨~៣៣°C" is a range; "~" alone is ប្រហែល
                continue
            reading = mapping("symbols_km").get(ch)
            if reading is None:
                reading = "និមិត្តសញ្ញា"
                b.warn("unknown_symbol", f"no Khmer reading for {ch!r} (U+{ord(ch):04X})", a, z, reading)
            b.say(reading, a, z)
