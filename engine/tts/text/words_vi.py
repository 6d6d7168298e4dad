"""Handler for Vietnamese word tokens: abbreviations, loanwords, Roman numerals, unknown acronyms.

The abbreviation table says when each reading applies (see data/abbreviations_vi.tsv); a form that is
ambiguous where it stands is spelled and reported, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import dates_vi, numbers_vi, spell
from .numbers_vi import cardinal
from .numeric_vi import unit_pattern, unit_reading
from .roman import parse_roman
from .scan_vi import NUMERIC, Scan, ends_with, line_start, word_set
from .tables import is_deployment_entry, mapping

_HEAD = re.compile(r"[^\W\d_]+|\d+")
_SLASH_TAIL = re.compile(r"/[^\W\d_]{1,2}(?![\w/])")  # "đ/c", "v/v": abbreviations with a slash
_NAME_AFTER = re.compile(r"\.?\s*(?=[A-ZĐÀ-Ỹ\d])|\.(?=\w)")
_PHONE_AFTER = re.compile(r"[.:]?\s*(?:\+84|0)\d")
_CODE_AFTER = re.compile(r"\.?\s*(?:số\s*)?\d+/(?:\d{4}/)?[A-ZĐ]")  # "TT 08/2024/TT-BTNMT": a document type
_NEXT_WORD = re.compile(r"\.?\s*([^\W\d_]+)")
_ROMAN_CONTEXT = word_set(
    "chương mục phần khóa khoá kỳ quý đợt đoạn kỷ hội thứ cấp động loại hạng tập lục nhóm vùng mức"
)
_WEEKDAY = re.compile(r"T([2-7])")  # "T7" is thứ bảy, unless a month is meant ("T7/2025", "T7 năm 2025")
_MONTH_AFTER = re.compile(r"/\d|\s+(?:năm|tháng)\b", re.I)
_MONTH = re.compile(r"T(1[0-2]|0?[1-9])")
_SLASH_YEAR_AFTER = re.compile(r"/((?:19|20)\d\d)\b")  # "T7/2025": tháng bảy năm 2025
_CAPS_WORD = re.compile(r"[.)]\s*([^\W\d_]+)")
_CAPS_AROUND = re.compile(r"[^\W\d_]+")
_SPACE_WORD = re.compile(r" ([^\W\d_]+)(?![\w&.\-])")
_CAMEL = re.compile(r"[A-ZĐ][a-zđ]+|[a-zđ]+|[A-ZĐ]+(?![a-zđ])")
_HEAD_LETTERS = re.compile(r"[^\W\d_]+")
_CODE = re.compile(r"[A-ZĐ]{1,3}\d+[A-ZĐ]{1,3}\d*")
_SLASH_YEAR = re.compile(r"/(\d{4})\b")
_NAME_CUES = ("tên quốc tế", "tên gọi", "có tên", "mang tên")  # an all-capital word after these is a name
_PLAIN: dict[str, bool] = {}  # words seen to need no reading and no context: copied as they are
_PLAIN_MAX = 100_000


def word(s: Scan, m: re.Match[str]) -> int:
    tok = m.group()
    table = s.table
    if tok in _PLAIN and tok not in table:  # a deployment lexicon may name a word seen plain before
        return _plain_run(s, m.start(), m.end())
    loans = mapping("loanwords_vi", fold_case=True)
    if len(tok) <= 2 and (m.start() == s.lo or s.text[m.start() - 1] != "/"):
        tail = _SLASH_TAIL.match(s.text, m.end(), s.hi)
        if tail and tok + tail.group() in table:
            return _abbreviation(s, tok + tail.group(), table[tok + tail.group()], m.start(), tail.end())
    if tok in table and not _roman_here(s, tok, m.start()):
        return _abbreviation(s, tok, table[tok], m.start(), m.end())
    month = _MONTH.fullmatch(tok)
    year = _SLASH_YEAR_AFTER.match(s.text, m.end(), s.hi) if month else None
    if month and year:
        spoken = f"tháng {dates_vi.month(int(month.group(1)), s.d)} năm {cardinal(int(year.group(1)), s.d)}"
        s.b.say(spoken, m.start(), year.end())
        return year.end()
    weekday = _WEEKDAY.fullmatch(tok)
    if weekday and not _MONTH_AFTER.match(s.text, m.end(), s.hi):
        s.b.say(f"thứ {numbers_vi.ordinal(int(weekday.group(1)), s.d)}", m.start(), m.end())
        return m.end()
    if tok.lower() in loans and _loanword_here(s, tok, m.end()):
        s.b.say(loans[tok.lower()], m.start(), m.end())
        return m.end()
    if _CODE.fullmatch(tok) and "always" not in table.get(_HEAD_LETTERS.match(tok).group(), {}):  # type: ignore[union-attr]
        return _unknown_word(s, tok, m.start(), m.end())  # "H5N1" is spelled; "QL1A" is quốc lộ 1A
    head_m = _HEAD.match(tok)
    assert head_m is not None
    head = head_m.group()
    start, end = m.start(), m.start() + len(head)
    if head in ("x", "X") and s.prev in NUMERIC and re.match(r"\s*\d", s.text[end : end + 3]):
        s.b.say("nhân", start, end)
        return end
    if start > s.lo and s.text[start - 1] == "/":
        unit = unit_pattern().match(s.text, start, s.hi)
        if unit is not None:  # "con/m2", "đồng/kg"
            s.b.say(unit_reading(unit.group("unit"), s.d), start, unit.end())
            return unit.end()
    if len(head) == 1 and head.islower() and _list_marker(s, start, end):
        s.b.say(spell.letters(head), start, end)  # "b) Thời gian: ..."
        return end
    roman = parse_roman(head) if head.isupper() else None
    if roman is not None:
        prev = s.prev_word(start)
        if prev in _ROMAN_CONTEXT:
            s.b.say(numbers_vi.ordinal(roman, s.d) if prev == "thứ" else cardinal(roman, s.d), start, end)
            year = _SLASH_YEAR.match(s.text, end, s.hi)
            if year is None:
                return end
            s.b.say(f"năm {cardinal(int(year.group(1)), s.d)}", year.start(), year.end())  # "Quý III/2025"
            return year.end()
        if _list_marker(s, start, end) or (start - s.lo >= 2 and re.match(r"\d-", s.text[start - 2 : start])):
            s.b.say(cardinal(roman, s.d), start, end)  # "II. NHIỆM VỤ", "RON 95-III"
            return end
    rows = table.get(head)
    if rows:
        return _abbreviation(s, head, rows, start, end)
    if head.lower() in loans and _loanword_here(s, head, end):
        s.b.say(loans[head.lower()], start, end)
        return end
    parts = _CAMEL.findall(head)
    if len(parts) > 1 and all(p.lower() in loans for p in parts):
        s.b.say(" ".join(loans[p.lower()] for p in parts), start, end)  # "ZaloPay"
        return end
    if _acronym_like(s, head, start, end):
        return _unknown_word(s, head, start, end)
    if roman is None and end == m.end() and spell.is_vietnamese_syllable(head.lower()):
        if len(_PLAIN) < _PLAIN_MAX and not (head.isupper() and head.isascii() and len(head) <= 3):
            _PLAIN[head] = True
        s.b.copy(start, end)
        return end
    return _unknown_word(s, head, start, end)


def _roman_here(s: Scan, tok: str, start: int) -> bool:
    """ "khóa X", "mục X", "lần thứ X": a Roman numeral where the word before asks for a number, even
    when the table knows the letters ("X" before a name is xã)."""
    if not tok.isupper() or parse_roman(tok) is None:
        return False
    if s.prev_word(start) in _ROMAN_CONTEXT:
        return True
    end = start + len(tok)  # "X. TỔ CHỨC THỰC HIỆN": a heading's number; "X. Tân Hạnh" stays xã
    heading = _CAPS_WORD.match(s.text, end, s.hi)
    return _list_marker(s, start, end) and heading is not None and heading.group(1).isupper()


def _loanword_here(s: Scan, tok: str, end: int) -> bool:
    """Short loanwords ("AI", "OA", "OK", "Fax") are not read where they can be Vietnamese or part of a
    name: "ai" (who) and "Ai có nhu cầu..." are Vietnamese, "Ok" in "Ok Om Bok" is a name."""
    if len(tok) > 3 or tok.isupper():
        return True
    if spell.is_vietnamese_syllable(tok.lower()):
        return False
    nxt = _NEXT_WORD.match(s.text, end, s.hi)
    return tok.islower() or nxt is None or not nxt.group(1).istitle()


def _list_marker(s: Scan, start: int, end: int) -> bool:
    """A letter or Roman numeral that opens a line and is closed by "." or ")": "a)", "II."."""
    return s.text[end : end + 1] in (".", ")") and line_start(s.text, start)


def _plain_run(s: Scan, start: int, end: int) -> int:
    """Copies a plain word and the plain words that follow it, one space apart, in one piece: most of a
    bulletin is such runs, and this keeps them from costing a token each."""
    while True:
        nxt = _SPACE_WORD.match(s.text, end, s.hi)
        if nxt is None or nxt.group(1) not in _PLAIN or nxt.group(1) in s.table:
            break
        end = nxt.end()
    s.b.copy(start, end)
    return end


def _acronym_like(s: Scan, head: str, start: int, end: int) -> bool:
    """A short all-capital ASCII word ("OM", "UV") outside an all-capital heading is an acronym."""
    if not (head.isupper() and head.isascii() and 2 <= len(head) <= 3):
        return False
    around = _CAPS_AROUND.findall(s.text, max(s.lo, start - 20), min(s.hi, end + 20))
    return sum(1 for w in around if w.isupper() and len(w) > 1) < 3


def _abbreviation(s: Scan, head: str, rows: Mapping[str, str], start: int, end: int) -> int:
    if "code" in rows and _CODE_AFTER.match(s.text, end, s.hi):
        return _say_abbreviation(s, head, rows["code"], start, end)
    nxt = _NEXT_WORD.match(s.text, end, s.hi)
    next_word = nxt.group(1).lower() if nxt else ""
    for when, reading in rows.items():
        if when.startswith("next:") and next_word in when[5:].split(","):
            return _say_abbreviation(s, head, reading, start, end)
    for when, reading in rows.items():
        if when.startswith("prev:") and s.prev_word(start) in when[5:].split(","):
            return _say_abbreviation(s, head, reading, start, end)
    if "before_phone" in rows and _PHONE_AFTER.match(s.text, end, s.hi):
        return _say_abbreviation(s, head, rows["before_phone"], start, end)
    if "always" in rows:
        return _say_abbreviation(s, head, rows["always"], start, end)
    name = _NAME_AFTER.match(s.text, end, s.hi)
    if "before_name" in rows and name:
        return _say_abbreviation(s, head, rows["before_name"], start, end, name.group().startswith("."))
    spelled = spell.letters(head)
    s.b.say(spelled, start, end)
    readings = " / ".join(rows.values())
    s.b.warn("ambiguous_abbreviation", f"{head!r} could be: {readings}; spelled", start, end, spelled)
    return end


def _say_abbreviation(s: Scan, head: str, reading: str, start: int, end: int, dot: bool = False) -> int:
    if dot or (s.text.startswith(".", end) and _NAME_AFTER.match(s.text, end, s.hi)):
        end += 1
    s.b.say(reading, start, end)
    s.b.used(head, reading, is_deployment_entry(s.table, head), start, end)
    return end


def _unknown_word(s: Scan, word: str, start: int, end: int) -> int:
    if spell.is_vietnamese_syllable(word.lower()) and not (
        word.isupper() and word.isascii() and len(word) <= 3
    ):
        s.b.copy(start, end)
    elif word.isupper() and len(word) >= 4 and ends_with(s.words_before(start), _NAME_CUES):
        s.b.say(word.lower(), start, end)  # a storm's international name: "tên quốc tế YAGI"
        s.b.warn("foreign_word", f"{word!r} read as a foreign name", start, end, word.lower())
    elif word.isupper() or (not word.islower() and not word.istitle()):
        spelled = spell.letters(word)
        s.b.say(spelled, start, end)
        if len(word) > 1:
            message = f"unknown abbreviation {word!r} spelled letter by letter"
            s.b.warn("spelled_out", message, start, end, spelled)
    else:
        s.b.copy(start, end)
        message = f"{word!r} is not Vietnamese and not in the loanword table"
        s.b.warn("foreign_word", message, start, end, word)
    return end
