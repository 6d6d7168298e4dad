"""Vietnamese bulletin text to speakable words, in one left-to-right scan.

One regular expression finds the next token that needs reading (an address, a document code, a date, a
time, a number, a word); the text between tokens is whitespace and punctuation. Each token kind has a
handler that looks at the words around it where the reading depends on them ("Chương IV", "ngày 2/9",
"gọi 0913..."), writes the reading, and says how far it consumed. Anything without a reading is spelled
or named and reported: nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from . import dates_vi, numbers_vi, spell
from .builder import Builder
from .model import Normalized
from .numbers_vi import Dialect, cardinal
from .roman import parse_roman
from .tables import abbreviations, mapping

_TOKEN = re.compile(
    r"""
    (?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)
    |(?P<url>(?:https?://|www\.)[^\s]*[^\s.,;:!?)\]"'”]
        |\b[\w-]+(?:\.[\w-]+)*\.(?:gov|com|org|net|edu|vn)\b(?:/[^\s]*[^\s.,;:!?)\]"'”])?)
    |(?P<code>\b\d+(?:/\d{4})?/[A-ZĐ][\wĐđ&]*(?:-[A-ZĐa-zđ][\wĐđ&]*)*)
    |(?P<daterange>\b\d{1,2}\s?[-–]\s?\d{1,2}/\d{1,2}(?:/\d{4})?\b)
    |(?P<date>\b\d{1,2}(?P<sep>[/.-])\d{1,2}(?P=sep)\d{4}\b)
    |(?P<time>\b\d{1,2}(?:[hg:]\d{2}(?:ph|p|')?|h)(?!\w))
    |(?P<monthyear>\b\d{1,2}/\d{4}\b)
    |(?P<slash>\b\d+/\d+\b)
    |(?P<phone>\b(?:0\d{2,3}(?:[ .]\d{3,4}){2}|1[89]00[ .]?\d{2,4}(?:[ .]\d{3,4})?)\b)
    |(?P<number>\d+(?:[.,]\d+)*)
    |(?P<word>[^\W\d_]\w*(?:[-&.][^\W_]\w*)*)
    """,
    re.X,
)
_GAP = re.compile(
    r"(?P<ws>\s+)|(?P<dash>[-–—])|(?P<punct>[.,;:!?…]+)|(?P<open>[(\[{])|(?P<close>[)\]}])"
    r"|(?P<quote>[\"'“”‘’«»`])|(?P<sym>.)",
    re.S,
)
_CLOCK = re.compile(r"(\d{1,2})(?:[hg:](\d{2}))?")
_WORD = re.compile(r"[^\W\d_]+")
_HEAD = re.compile(r"[^\W\d_]+|\d+")
_NAME_AFTER = re.compile(r"\.?\s*(?=[A-ZĐÀ-Ỹ\d])|\.(?=\w)")
_NUMERIC = frozenset({"number", "time", "date", "monthyear", "slash", "phone", "daterange", "code"})

# Words before a token that decide its reading.
_PHONE_CONTEXT = (
    "gọi", "điện thoại", "đường dây nóng", "hotline", "sđt", "đt", "tổng đài", "zalo", "tài khoản", "stk",
    "cccd", "cmnd", "căn cước", "mã số", "mã", "fax", "số máy",
)  # fmt: skip


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_DATE_CONTEXT = _set(
    "ngày hôm mùng mồng sáng trưa chiều tối đêm khuya từ đến tới và hoặc trước sau vào qua lúc hạn"
)
_DAY_SAID = _set("ngày hôm mùng mồng sáng trưa chiều tối đêm khuya")
_FRACTION_BEFORE = _set("khoảng gần hơn chiếm được còn trên dưới")
_FRACTION_AFTER = _set("số dân diện tổng lượng trong")
_ROMAN_CONTEXT = _set(
    "chương mục phần khóa khoá kỳ quý đợt đoạn kỷ hội thứ cấp động loại hạng tập lục nhóm vùng mức"
)


@dataclass
class Scan:
    text: str
    d: Dialect
    b: Builder
    prev: str = ""  # kind of the last token

    def words_before(self, start: int, n: int = 3) -> list[str]:
        return [w.lower() for w in _WORD.findall(self.text, max(0, start - 40), start)[-n:]]

    def word_after(self, end: int) -> str:
        m = _WORD.search(self.text, end, end + 30)
        return m.group().lower() if m else ""


def _ends_with(words: list[str], phrases: tuple[str, ...]) -> bool:
    joined = " ".join(words)
    return any(joined == p or joined.endswith(" " + p) for p in phrases)


def _group_digits(s: str) -> list[str]:
    groups = [g for g in re.split(r"[ .]", s) if g]
    if len(groups) > 1:
        return groups
    n = len(s)
    if n <= 4:
        return [s]
    sizes = {10: (4, 3, 3), 11: (4, 3, 4)}.get(n) or ((3,) * (n // 3 - 1) + (3 + n % 3,))
    out, i = [], 0
    for size in sizes:
        out.append(s[i : i + size])
        i += size
    return out


def read_digits(s: str) -> str:
    return ", ".join(numbers_vi.digits(g) for g in _group_digits(s))


@cache
def _unit_pattern() -> re.Pattern[str]:
    keys = sorted(mapping("units_vi"), key=len, reverse=True)
    alt = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"\s?(?P<unit>(?:{alt})(?:/(?:{alt}))?)(?!\w)")


def unit_reading(unit: str, d: Dialect) -> str:
    units = mapping("units_vi")
    if unit in units:
        reading = units[unit]
    else:
        a, _, b = unit.partition("/")
        reading = f"{units[a]} trên {units[b]}"
    return reading.replace("{thousand}", d.thousand)


# --- handlers: each writes its reading and returns where the scan goes on -------------------------------


def _email(s: Scan, m: re.Match[str]) -> int:
    s.b.say(spell.address(m.group()), m.start(), m.end())
    return m.end()


def _code(s: Scan, m: re.Match[str]) -> int:
    """Document codes "123/UBND-VX", "12/2025/NĐ-CP"; "2/III" is a number over a Roman numeral."""
    number, *middle, letters = m.group().split("/")
    roman = parse_roman(letters)
    if roman is not None and not middle:
        s.b.say(f"{cardinal(int(number), s.d)} trên {cardinal(roman, s.d)}", m.start(), m.end())
        return m.end()
    words = [cardinal(int(number), s.d)]
    if middle:
        words += ["năm", cardinal(int(middle[0]), s.d)]
    table = abbreviations("abbreviations_vi")
    for part in letters.split("-"):
        whole = table.get(part, {})
        reading = whole.get("code") or whole.get("always") or whole.get("before_name")
        if reading is None:
            reading = " ".join(_code_piece(p, table) for p in part.split("&"))
        words.append(reading)
    s.b.say(" ".join(words), m.start(), m.end())
    return m.end()


def _code_piece(part: str, table: dict[str, dict[str, str]]) -> str:
    row = table.get(part, {})
    return row.get("code") or row.get("always") or row.get("before_name") or spell.letters(part)


def _daterange(s: Scan, m: re.Match[str]) -> int:
    a, b, *rest = (int(x) for x in re.findall(r"\d+", m.group()))
    month = rest[0]
    year = rest[1] if len(rest) > 1 else None
    if not (dates_vi.valid_date(a, month) and dates_vi.valid_date(b, month) and a < b):
        return _plain_numbers(s, m)
    said = s.words_before(m.start(), 1)
    first = dates_vi.day(a, s.d, first_days=not (said and said[0] in ("mùng", "mồng")))
    text = f"{first} đến {dates_vi.date(b, month, year, s.d, say_day=False)}"
    if not (said and said[0] in _DAY_SAID):
        text = "ngày " + text
    s.b.say(text, m.start(), m.end())
    return m.end()


def _date(s: Scan, m: re.Match[str]) -> int:
    day, month, year = (int(x) for x in re.findall(r"\d+", m.group()))
    if not dates_vi.valid_date(day, month, year):
        return _plain_numbers(s, m)
    _say_date(s, m, day, month, year)
    return m.end()


def _say_date(s: Scan, m: re.Match[str], day: int | None, month: int, year: int | None) -> None:
    said = s.words_before(m.start(), 1)
    prev = said[0] if said else ""
    if day is None:
        text = dates_vi.date(None, month, year, s.d)
        if prev == "tháng":
            text = text.removeprefix("tháng ")
    else:
        text = dates_vi.date(
            day, month, year, s.d, say_day=prev not in _DAY_SAID, first_days=prev not in ("mùng", "mồng")
        )
    s.b.say(text, m.start(), m.end())


def _time(s: Scan, m: re.Match[str]) -> int:
    parts = _CLOCK.match(m.group())
    assert parts is not None
    hours, minutes = int(parts[1]), int(parts[2]) if parts[2] else None
    if hours > 24 or (minutes is not None and minutes > 59):
        return _plain_numbers(s, m)
    s.b.say(dates_vi.clock(hours, minutes, s.d), m.start(), m.end())
    return m.end()


def _monthyear(s: Scan, m: re.Match[str]) -> int:
    month, year = (int(x) for x in m.group().split("/"))
    if not 1 <= month <= 12:
        return _slash(s, m)
    _say_date(s, m, None, month, year)
    return m.end()


def _slash(s: Scan, m: re.Match[str]) -> int:
    """ "2/9" is a date, "1/2 số hộ" a fraction, "24/7" a ratio: the neighbouring words decide."""
    a_text, b_text = m.group().split("/")
    a, b = int(a_text), int(b_text)
    before = s.words_before(m.start(), 1)
    prev = before[0] if before else ""
    after = s.word_after(m.end())
    fraction = prev in _FRACTION_BEFORE or after in _FRACTION_AFTER
    if not fraction and dates_vi.valid_date(a, b) and (prev in _DATE_CONTEXT or (a, b) != (24, 7)):
        _say_date(s, m, a, b, None)
        return m.end()
    if a < b and b <= 100:
        text = f"{cardinal(a, s.d)} phần {'tư' if b == 4 else cardinal(b, s.d)}"
    else:
        text = f"{cardinal(a, s.d)} trên {cardinal(b, s.d)}"
    s.b.say(text, m.start(), m.end())
    return _unit_after(s, m.end())


def _phone(s: Scan, m: re.Match[str]) -> int:
    s.b.say(read_digits(m.group()), m.start(), m.end())
    return m.end()


def _plain_numbers(s: Scan, m: re.Match[str]) -> int:
    """A token that looked like a date or time but is not one: its numbers, its separators named."""
    parts = re.findall(r"\d+|\D", m.group())
    names = {"/": "trên", ":": "hai chấm", "-": "đến", ".": "chấm", "h": "giờ", "g": "giờ"}
    words = [cardinal(int(p), s.d) if p.isdigit() else names.get(p, "") for p in parts]
    s.b.say(" ".join(w for w in words if w), m.start(), m.end())
    return m.end()


def _number(s: Scan, m: re.Match[str]) -> int:
    tok = m.group()
    before = s.words_before(m.start())
    prev = before[-1] if before else ""
    plain = tok.isdigit()
    if (len(tok) >= 3 and _ends_with(before, _PHONE_CONTEXT)) or (
        plain and (len(tok) >= 9 or (len(tok) >= 3 and tok[0] == "0"))
    ):
        s.b.say(read_digits(tok), m.start(), m.end())
        return m.end()
    if plain and prev == "thứ":
        s.b.say(numbers_vi.ordinal(int(tok), s.d), m.start(), m.end())
        return m.end()
    if plain and prev == "tháng" and 1 <= int(tok) <= 12:
        s.b.say(dates_vi.month(int(tok), s.d), m.start(), m.end())
        return m.end()
    if plain and prev == "ngày" and int(tok) <= 10 and s.word_after(m.end()) == "tháng":
        s.b.say(dates_vi.day(int(tok), s.d), m.start(), m.end())
        return m.end()
    s.b.say(numbers_vi.number(tok, s.d), m.start(), m.end())
    return _unit_after(s, m.end())


def _unit_after(s: Scan, end: int) -> int:
    u = _unit_pattern().match(s.text, end)
    if u is None:
        return end
    s.b.say(unit_reading(u.group("unit"), s.d), u.start("unit"), u.end())
    return u.end()


def _word(s: Scan, m: re.Match[str]) -> int:
    tok = m.group()
    table = abbreviations("abbreviations_vi")
    loans = mapping("loanwords_vi", fold_case=True)
    whole = table.get(tok, {}).get("always") or loans.get(tok.lower())
    if whole:
        s.b.say(whole, m.start(), m.end())
        return m.end()
    head_m = _HEAD.match(tok)
    assert head_m is not None
    head = head_m.group()
    start, end = m.start(), m.start() + len(head)
    if head in ("x", "X", "×") and s.prev in _NUMERIC and re.match(r"\s*\d", s.text[end : end + 3]):
        s.b.say("nhân", start, end)
        return end
    prev = s.words_before(start, 1)
    roman = parse_roman(head) if head.isupper() else None
    if roman is not None and prev and prev[0] in _ROMAN_CONTEXT:
        s.b.say(numbers_vi.ordinal(roman, s.d) if prev[0] == "thứ" else cardinal(roman, s.d), start, end)
        return end
    rows = table.get(head)
    if rows:
        if "always" in rows:
            return _say_abbreviation(s, rows["always"], start, end)
        name = _NAME_AFTER.match(s.text, end)
        if "before_name" in rows and name:
            return _say_abbreviation(s, rows["before_name"], start, end, name.group().startswith("."))
        spelled = spell.letters(head)
        s.b.say(spelled, start, end)
        readings = " / ".join(rows.values())
        s.b.warn("ambiguous_abbreviation", f"{head!r} could be: {readings}; spelled", start, end, spelled)
        return end
    if head.lower() in loans:
        s.b.say(loans[head.lower()], start, end)
        return end
    return _plain_word(s, head, start, end)


def _say_abbreviation(s: Scan, reading: str, start: int, end: int, dot: bool = False) -> int:
    if dot or (s.text.startswith(".", end) and _NAME_AFTER.match(s.text, end)):
        end += 1
    s.b.say(reading, start, end)
    return end


def _plain_word(s: Scan, word: str, start: int, end: int) -> int:
    low = word.lower()
    if spell.is_vietnamese_syllable(low):
        s.b.copy(start, end)
    elif word.isupper() or (not word.islower() and not word.istitle()):
        spelled = spell.letters(word)
        s.b.say(spelled, start, end)
        if len(word) > 1:
            s.b.warn(
                "spelled_out", f"unknown abbreviation {word!r} spelled letter by letter", start, end, spelled
            )
    else:
        s.b.copy(start, end)
        s.b.warn(
            "foreign_word", f"{word!r} is not Vietnamese and not in the loanword table", start, end, word
        )
    return end


HANDLERS: dict[str, Callable[[Scan, re.Match[str]], int]] = {
    "email": _email,
    "url": _email,
    "code": _code,
    "daterange": _daterange,
    "date": _date,
    "time": _time,
    "monthyear": _monthyear,
    "slash": _slash,
    "phone": _phone,
    "number": _number,
    "word": _word,
}


def _gap(s: Scan, start: int, end: int, next_kind: str) -> None:
    text, b = s.text, s.b
    for g in _GAP.finditer(text, start, end):
        kind, a, z = g.lastgroup, g.start(), g.end()
        if kind == "ws":
            b.space(a, z)
        elif kind == "punct":
            b.copy(a, z)
        elif kind in ("open", "close"):
            b.pause(a, z)
        elif kind == "quote":
            continue
        elif kind == "dash":
            rest = text[z:end]
            line_start = text[:a].rstrip(" \t")[-1:] in ("", "\n")
            if s.prev in _NUMERIC and next_kind in _NUMERIC and not rest.strip():
                b.say("đến", a, z)
            elif line_start and not text[z : z + 1].isdigit():
                continue  # a list marker
            elif z == end and next_kind == "number" and (a == 0 or text[a - 1].isspace()):
                b.say("âm", a, z)
            else:
                b.pause(a, z)
        else:
            _symbol(s, a, z, next_kind)


def _symbol(s: Scan, a: int, z: int, next_kind: str) -> None:
    ch = s.text[a:z]
    if ch == "/":
        numeric = s.prev in _NUMERIC or next_kind in _NUMERIC
        s.b.say("trên" if numeric else "hoặc", a, z)
        return
    if ch in "•·*+" and s.text[:a].rstrip(" \t")[-1:] in ("", "\n"):
        return  # a list marker
    reading = mapping("symbols_vi").get(ch)
    if reading:
        s.b.say(reading.replace("{thousand}", s.d.thousand), a, z)
        return
    s.b.say("ký hiệu", a, z)
    s.b.warn("unknown_symbol", f"no reading for {ch!r} (U+{ord(ch):04X})", a, z, "ký hiệu")


def normalize_vi(text: str, d: Dialect, start: int = 0, end: int | None = None) -> Normalized:
    end = len(text) if end is None else end
    s = Scan(text, d, Builder(text))
    pos = start
    while pos < end:
        m = _TOKEN.search(text, pos, end)
        if m is None:
            _gap(s, pos, end, "")
            break
        kind = m.lastgroup or ""
        _gap(s, pos, m.start(), kind)
        new_pos = HANDLERS[kind](s, m)
        s.prev = kind
        pos = max(new_pos, m.start() + 1)
    return s.b.build()
