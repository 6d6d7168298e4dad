"""Handlers for Vietnamese tokens that hold digits: numbers with units, dates, times, codes, phones.

Each takes the scan and the token's match, writes the reading, and returns where the scan goes on.
"""

from __future__ import annotations

import re
from functools import cache

from . import dates_vi, numbers_vi
from .numbers_vi import MAX_DIGITS, Dialect, amount, cardinal, read_digits
from .roman import parse_roman
from .scan_vi import Scan, ends_with, word_set
from .spell import address as spell_address
from .spell import letters
from .tables import Lexicon, mapping

_DIGIT_RUN = re.compile(r"\d+")
_CLOCK = re.compile(r"(\d{1,2})(?:[hg:](\d{2}))?")
_LETTERS = re.compile(r"[^\W\d_]+")

PHONE_CONTEXT = (
    "gọi", "điện thoại", "đường dây nóng", "hotline", "sđt", "tổng đài", "zalo", "tài khoản", "stk",
    "cccd", "cmnd", "căn cước", "mã số", "mã số thuế", "mã", "fax", "số máy",
)  # fmt: skip
_DATE_CONTEXT = word_set(
    "ngày hôm mùng mồng sáng trưa chiều tối đêm khuya từ đến tới và hoặc trước sau vào qua lúc hạn khoảng"
    " hết lịch nhật"
)
_WEEKDAYS = ("thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật")
# A "d/m" ending the sentence or followed by these is a date ("hạn chót là 30/11.", "25/12 tới").
_DATE_AFTER = word_set("tới này vừa hằng hàng âm dương")
_RATIO_BEFORE = word_set("đạt được chiếm số nhà tỷ lệ còn")
# Dates that are names: streets ("đường 3/2", "đường 30/4") and holidays ("nghỉ lễ 30/4", "dịp 2/9").
_STREET = word_set("đường phố lễ dịp")
_HOLIDAY = re.compile(r"\bNgày [^\W\d][^\d\n,.;:!?()]{2,40} $")  # "Ngày Giải phóng miền Nam 30/4"
_SLASH_RANGE_AFTER = re.compile(r"\s?[-–]\s?\d{1,2}/\d{1,2}\b")
_SLASH_RANGE_BEFORE = re.compile(r"\b\d{1,2}/\d{1,2}\s?[-–]\s?$")
_DASH_RANGE_AFTER = word_set("tháng giờ ngày phút tuần")  # "ngày 6-10 tháng 5" is a range of days
_PERIOD = word_set("quý đợt kỳ")  # "quý 3/2025" is the third quarter of 2025, not March
_CLOCK_G_BEFORE = word_set("lúc vào từ đến tới trước sau")  # "lúc 19g" is 19 o'clock, "19g" else grams
_EMERGENCY = frozenset({"111", "112", "113", "114", "115"})
_CALLING_CUES = (
    "gọi", "điện thoại", "đường dây", "tổng đài", "cấp cứu", "cứu hỏa", "cứu hộ", "cháy", "công an",
    "khẩn cấp", "hotline", "liên hệ", "báo tin", "sđt", "số máy", "cskh", "zalo",
)  # fmt: skip
_CALLING = re.compile("|".join(re.escape(cue) for cue in _CALLING_CUES), re.I)
_CALLING_LONGEST = max(len(cue) for cue in _CALLING_CUES)
_EMERGENCY_NEXT = word_set("hoặc và để khi nếu ngay miễn")
_DAY_SAID = word_set("ngày hôm mùng mồng sáng trưa chiều tối đêm khuya")
_FRACTION_BEFORE = word_set("khoảng gần hơn chiếm được còn trên dưới")
_FRACTION_AFTER = word_set("số dân diện tổng lượng trong")
# The last day of a list ("ngày 14 và 15/7", "các ngày 5, 6 và 7/8") gets no second "ngày".
_LIST_BEFORE = re.compile(r"\d\s*(?:,|và|hoặc)\s*$")
_DOT_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})")  # "ngày 15.10"
_DOT_DATE_NEXT = word_set("đến tới và hoặc")  # "từ ngày 15.10 đến 20.10"
_SCORE_CUES = ("tỷ số", "tỉ số", "thắng", "thua", "hòa", "chung cuộc")  # "tỷ số 3-1" is no range
_ID_GROUPS = re.compile(r"(?: \d{2,5}(?![\d.,]\d))+(?!\w)")
_HEIGHT = re.compile(r"m(\d{2})(?!\w)")  # "1m55": one metre fifty-five
_LABELS = ("đề án",)  # "Đề án 06" is said "không sáu", as its name is written


@cache
def unit_pattern() -> re.Pattern[str]:
    alt = "|".join(re.escape(k) for k in sorted(mapping("units_vi"), key=len, reverse=True))
    return re.compile(rf"\s?(?P<unit>(?:{alt})(?:/(?:{alt}))?)(?!\w)")


def unit_reading(unit: str, d: Dialect) -> str:
    units = mapping("units_vi")
    if unit in units:
        reading = units[unit]
    else:
        a, _, b = unit.partition("/")
        reading = f"{units[a]} trên {units[b]}"
    return reading.replace("{thousand}", d.thousand)


def unit_after(s: Scan, end: int) -> int:
    u = unit_pattern().match(s.text, end, s.hi)
    if u is None:
        return end
    s.b.say(unit_reading(u.group("unit"), s.d), u.start("unit"), u.end())
    return u.end()


def address(s: Scan, m: re.Match[str]) -> int:
    s.b.say(spell_address(m.group()), m.start(), m.end())
    return m.end()


def plate(s: Scan, m: re.Match[str]) -> int:
    """Vehicle plates "64A-123.45": every digit and letter said one by one, in the plate's groups."""
    series, _, serial = m.group().partition("-")
    head = " ".join(numbers_vi.digits(c) if c.isdigit() else letters(c) for c in series)
    s.b.say(f"{head}, {', '.join(numbers_vi.digits(g) for g in serial.split('.'))}", m.start(), m.end())
    return m.end()


def code(s: Scan, m: re.Match[str]) -> int:
    """Document codes "123/UBND-VX", "12/2025/NĐ-CP", the Party's "57-NQ/TW", "72/2025/QH15"; "8/III" is
    a date where a date is expected ("ngày 8/III"), else a number over a Roman numeral."""
    tok = m.group()
    if "-" in tok.split("/")[0]:
        number, _, rest = tok.partition("-")
        parts = re.split(r"[/-]", rest)
        words = [amount(number, s.d), *(_code_word(p, s.d, s.table) for p in parts)]
        s.b.say(" ".join(words), m.start(), m.end())
        return _warn_long(s, tok, m.start(), m.end(), " ".join(words))
    number, *middle, tail = tok.split("/")
    roman = parse_roman(tail)
    if roman is not None and not middle:
        day = int(number) if len(number) <= 2 else 0
        if s.prev_word(m.start()) in _DATE_CONTEXT and dates_vi.valid_date(day, roman):
            _say_date(s, m, day, roman, None)
            return m.end()
        spoken = f"{amount(number, s.d)} trên {cardinal(roman, s.d)}"
        s.b.say(spoken, m.start(), m.end())
        return _warn_long(s, tok, m.start(), m.end(), spoken)
    words = [amount(number, s.d)]
    if middle:
        words += ["năm", cardinal(int(middle[0]), s.d)]
    words += [_code_word(part, s.d, s.table) for part in tail.split("-")]
    s.b.say(" ".join(words), m.start(), m.end())
    return _warn_long(s, tok, m.start(), m.end(), " ".join(words))


def _code_part(part: str, table: Lexicon) -> str | None:
    row = table.get(part, {})
    return row.get("code") or row.get("always") or row.get("before_name")


def _code_word(part: str, d: Dialect, table: Lexicon) -> str:
    """One piece of a code: from the table, else its "&"-joined pieces, letters and numbers ("QH15")."""
    known = _code_part(part, table)
    if known:
        return known
    words = []
    for piece in part.split("&"):
        known = _code_part(piece, table)
        if known:
            words.append(known)
            continue
        for run in re.findall(r"\d+|\D+", piece):
            words.append(amount(run, d) if run.isdecimal() else _code_part(run, table) or letters(run))
    return " ".join(words)


def daterange(s: Scan, m: re.Match[str]) -> int:
    a, b, *rest = (int(x) for x in re.findall(r"\d+", m.group()))
    month = rest[0]
    year = rest[1] if len(rest) > 1 else None
    if not (dates_vi.valid_date(a, month) and dates_vi.valid_date(b, month) and a < b):
        return plain_numbers(s, m)
    prev = s.prev_word(m.start())
    first = dates_vi.day(a, s.d, first_days=prev not in ("mùng", "mồng"))
    text = f"{first} đến {dates_vi.date(b, month, year, s.d, say_day=False)}"
    if prev not in _DAY_SAID:
        text = "ngày " + text
    s.b.say(text, m.start(), m.end())
    return m.end()


def date(s: Scan, m: re.Match[str]) -> int:
    day, month, year = (int(x) for x in re.findall(r"\d+", m.group()))
    if not dates_vi.valid_date(day, month, year):
        return plain_numbers(s, m)
    _say_date(s, m, day, month, year)
    return m.end()


def _say_date(s: Scan, m: re.Match[str], day: int | None, month: int, year: int | None) -> None:
    prev = s.prev_word(m.start())
    if day is None:
        text = dates_vi.date(None, month, year, s.d)
        if prev == "tháng":
            text = text.removeprefix("tháng ")
    else:
        said = prev not in _DAY_SAID and not _LIST_BEFORE.search(s.text, max(s.lo, m.start() - 12), m.start())
        mung = prev not in ("mùng", "mồng")
        text = dates_vi.date(day, month, year, s.d, say_day=said, first_days=mung)
        s.date_end = m.end()
    s.b.say(text, m.start(), m.end())


def time(s: Scan, m: re.Match[str]) -> int:
    parts = _CLOCK.match(m.group())
    assert parts is not None
    hours, minutes = int(parts[1]), int(parts[2]) if parts[2] else None
    if hours > 24 or (minutes is not None and minutes > 59):
        return plain_numbers(s, m)
    s.b.say(dates_vi.clock(hours, minutes, s.d), m.start(), m.end())
    return m.end()


def monthyear(s: Scan, m: re.Match[str]) -> int:
    month, year = (int(x) for x in m.group().split("/"))
    if s.prev_word(m.start()) in _PERIOD:
        s.b.say(f"{cardinal(month, s.d)} năm {cardinal(year, s.d)}", m.start(), m.end())
        return m.end()
    if not 1 <= month <= 12:
        return slash(s, m)
    _say_date(s, m, None, month, year)
    return m.end()


def slash(s: Scan, m: re.Match[str]) -> int:
    """ "2/9" after "ngày", "từ", "sáng", "thứ Hai" or ending the sentence is a date, and so is each end of
    "21/10-1/11"; "đường 3/2" is a street named for a date; "1/2 số hộ" a fraction; "8/10 tiêu chí" a
    ratio."""
    a_text, b_text = m.group().split("/")
    if len(a_text) > MAX_DIGITS or len(b_text) > MAX_DIGITS:
        spoken = f"{amount(a_text, s.d)} trên {amount(b_text, s.d)}"
        s.b.say(spoken, m.start(), m.end())
        return _warn_long(s, m.group(), m.start(), m.end(), spoken)
    a, b = int(a_text), int(b_text)
    prev = s.prev_word(m.start())
    fraction = s.word_after(m.end()) in _FRACTION_AFTER or (prev in _FRACTION_BEFORE and a < b)
    if not fraction and dates_vi.valid_date(a, b):
        if prev in _STREET or _HOLIDAY.search(s.text, max(s.lo, m.start() - 48), m.start()):
            s.b.say(dates_vi.date(a, b, None, s.d, say_day=False, first_days=False), m.start(), m.end())
            return m.end()
        if _slash_is_date(s, m, prev):
            _say_date(s, m, a, b, None)
            return m.end()
    if a < b <= 10 and fraction:
        text = f"{cardinal(a, s.d)} phần {'tư' if b == 4 else cardinal(b, s.d)}"
    else:
        text = f"{cardinal(a, s.d)} trên {cardinal(b, s.d)}"
    s.b.say(text, m.start(), m.end())
    return unit_after(s, m.end())


def _slash_is_date(s: Scan, m: re.Match[str], prev: str) -> bool:
    start, end = m.start(), m.end()
    if prev in _DATE_CONTEXT or s.at_sentence_start(start):
        return True
    if ends_with(s.words_before(start, 2), _WEEKDAYS):
        return True
    before = max(s.lo, start - 16)  # longer than any match of the pattern: the same answer, bounded work
    if _SLASH_RANGE_AFTER.match(s.text, end, s.hi) or _SLASH_RANGE_BEFORE.search(s.text, before, start):
        return True
    if prev in _RATIO_BEFORE or m.group() == "24/7":  # "24/7" is "round the clock", never 24 July
        return False
    following = s.next_char(end)
    return not following or following in ".;!?(" or s.word_after(end) in _DATE_AFTER


def series(s: Scan, m: re.Match[str]) -> int:
    """Three or more numbers joined by dashes ("NPK 20-20-15", "16-16-8") are a list, not a range."""
    s.b.say(", ".join(cardinal(int(x), s.d) for x in m.group().split("-")), m.start(), m.end())
    return m.end()


def phone(s: Scan, m: re.Match[str]) -> int:
    """Phone numbers digit by digit in their groups. An ungrouped "19001006" is a hotline only where the
    sentence speaks of calling; "Tổng cộng 19000000 đồng" is an amount."""
    tok = m.group()
    shortest = 8 if tok[:2] in ("18", "19") else 9
    hotline_alone = tok.isdigit() and shortest == 8 and not _calling(s, m.start())
    if hotline_alone or not shortest <= sum(c.isdigit() for c in tok) <= 12:
        if tok.startswith("+"):  # "+840913": too short for a phone; the sign is said, then the number
            s.b.say(mapping("symbols_vi")["+"], m.start(), m.start() + 1)
        first = _DIGIT_RUN.search(s.text, m.start(), m.end())
        assert first is not None
        return number(s, first)
    plus = "cộng " if tok.startswith("+") else ""  # "+84 909 123 456"
    s.b.say(plus + read_digits(tok.lstrip("+")), m.start(), m.end())
    return m.end()


def dashdate(s: Scan, m: re.Match[str]) -> int:
    """ "sáng 6-10", "ngày 2-9": a day and month after a word that names the day; elsewhere a range."""
    a, b = (int(x) for x in m.group().split("-"))
    if any(cue in " ".join(s.words_before(m.start(), 4)) for cue in _SCORE_CUES):
        s.b.say(f"{cardinal(a, s.d)} {cardinal(b, s.d)}", m.start(), m.end())  # a score: "ba một"
        return m.end()
    prev = s.prev_word(m.start())
    if prev in _DAY_SAID and dates_vi.valid_date(a, b) and s.word_after(m.end()) not in _DASH_RANGE_AFTER:
        _say_date(s, m, a, b, None)
        return m.end()
    first = _DIGIT_RUN.match(s.text, m.start())
    assert first is not None
    return number(s, first)


def plain_numbers(s: Scan, m: re.Match[str]) -> int:
    """A token that looked like a date or time but is not one: its numbers, its separators named."""
    parts = re.findall(r"\d+|\D", m.group())
    names = {"/": "trên", ":": "hai chấm", "-": "đến", ".": "chấm", "h": "giờ", "g": "giờ"}
    words = [cardinal(int(p), s.d) if p.isdigit() else names.get(p, "") for p in parts]
    s.b.say(" ".join(w for w in words if w), m.start(), m.end())
    return m.end()


def number(s: Scan, m: re.Match[str]) -> int:
    tok, start, end = m.group(), m.start(), m.end()
    b, d = s.b, s.d
    before = s.words_before(start)
    prev = before[-1] if before else ""
    plain = tok.isdigit()
    id_context = len(tok) >= 3 and ends_with(before, PHONE_CONTEXT)
    if (
        id_context
        or (plain and (len(tok) >= 9 or (len(tok) >= 3 and tok[0] == "0")))
        or (tok in _EMERGENCY and _emergency_number(s, start, end))
    ):
        groups = _ID_GROUPS.match(s.text, end, s.hi) if id_context else None
        if groups:  # "tài khoản 7300 201 012 345": one number in its groups, a pause between them
            tok, end = s.text[start : groups.end()], groups.end()
        spoken = read_digits(tok)
        b.say(spoken, start, end)
        return end if id_context else _warn_long(s, tok, start, end, spoken)
    letters_after = _LETTERS.match(s.text, end, s.hi)
    if letters_after:
        loan = mapping("loanwords_vi", fold_case=True).get(tok + letters_after.group().lower())
        if loan:
            b.say(loan, start, letters_after.end())
            return letters_after.end()
    if plain:
        n = int(tok)
        reading: str | None = None
        if prev == "thứ":
            reading = numbers_vi.ordinal(n, d)
        elif prev == "tháng" and 1 <= n <= 12:
            reading = dates_vi.month(n, d)
        elif prev == "ngày" and n <= 10 and s.word_after(end) == "tháng":
            reading = dates_vi.day(n, d)
        elif prev == "giờ" and len(tok) == 2 and n < 60 and _hour_before(s, start):
            reading = cardinal(n, d) + ("" if s.word_after(end) == "phút" else " phút")
        elif n <= 24 and prev in _CLOCK_G_BEFORE and re.match(r"g(?!\w)", s.text[end : end + 2]):
            b.say(f"{cardinal(n, d)} giờ", start, end + 1)
            return end + 1
        elif (len(tok) <= 3 and _country_code(s, start, end)) or _label(tok, before):
            reading = numbers_vi.digits(tok)
        elif n <= 2 and (height := _HEIGHT.match(s.text, end, s.hi)):
            b.say(f"{cardinal(n, d)} mét {cardinal(int(height.group(1)), d)}", start, height.end())
            return height.end()
        if reading is not None:
            b.say(reading, start, end)
            return end
    dot = _DOT_DATE.fullmatch(tok)
    if dot and _dot_date_here(s, prev) and dates_vi.valid_date(int(dot.group(1)), int(dot.group(2))):
        _say_date(s, m, int(dot.group(1)), int(dot.group(2)), None)
        return end
    if numbers_vi.parse_number(tok) is None and re.fullmatch(r"\d+(?:\.\d+)+", tok):
        spoken = " chấm ".join(amount(x, d) for x in tok.split("."))  # "Mục 1.1.2"
        b.say(spoken, start, end)
        return _warn_long(s, tok, start, end, spoken)
    spoken = numbers_vi.number(tok, d)
    b.say(spoken, start, end)
    _warn_long(s, tok, start, end, spoken)
    return unit_after(s, end)


def _label(tok: str, before: list[str]) -> bool:
    """ "Đề án 06": a programme's number keeps its leading zero, as its name is said."""
    return len(tok) == 2 and tok[0] == "0" and ends_with(before, _LABELS)


def _dot_date_here(s: Scan, prev: str) -> bool:
    """ "ngày 15.10" is a date; so is "đến 20.10" after one. Elsewhere "1.5" is a number."""
    return prev in _DAY_SAID or (prev in _DOT_DATE_NEXT and s.date_end >= 0)


def _warn_long(s: Scan, tok: str, start: int, end: int, spoken: str) -> int:
    """Reports a number too long to be an amount, which the readers said digit by digit; returns end."""
    n = numbers_vi.amount_digits(tok) if len(tok) > MAX_DIGITS else 0
    if n > MAX_DIGITS:
        message = f"a {n}-digit number is longer than any amount (nghìn tỷ); read digit by digit"
        s.b.warn("spelled_out", message, start, end, spoken)
    return end


def _emergency_number(s: Scan, start: int, end: int) -> bool:
    """113, 114, 115 are said digit by digit when the sentence is about calling and no noun follows."""
    if s.next_char(end).isalpha() and s.word_after(end) not in _EMERGENCY_NEXT:
        return False
    return _calling(s, start)


def _calling(s: Scan, start: int) -> bool:
    """Whether the sentence so far speaks of calling (gọi, tổng đài, đường dây nóng, hotline...)."""
    return s.said_before(_CALLING, start, _CALLING_LONGEST)


def _country_code(s: Scan, start: int, end: int) -> bool:
    """ "+84", "+1": a calling code, said digit by digit ("cộng tám bốn"); not "+3°C"."""
    plus = start - 1
    if plus < s.lo or s.text[plus] != "+" or (plus > s.lo and s.text[plus - 1].isalnum()):
        return False
    return unit_pattern().match(s.text, end, s.hi) is None


def _hour_before(s: Scan, start: int) -> bool:
    """Whether the text before is "<number> giờ", as in "6 giờ 05"."""
    return re.search(r"\d\s*giờ\s*$", s.text[max(s.lo, start - 12) : start]) is not None
