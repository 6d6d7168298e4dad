"""Vietnamese number reading: cardinals, digit strings, decimals, ordinals.

The rules a speaker applies, not the ones a dictionary lists: 21 is "hai mươi mốt", 15 "mười lăm", 24
"hai mươi tư", 105 "một trăm lẻ năm", and every group of three after the first is read in full
(2025 is "hai nghìn không trăm hai mươi lăm"). Where North and South differ the Dialect says which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.tts import limits


@dataclass(frozen=True)
class Dialect:
    name: str
    thousand: str  # 1000: nghìn / ngàn
    odd: str  # the "and zero tens" of 105: lẻ / linh
    four: str  # 4 after mươi: tư
    five: str  # 5 after mười/mươi: lăm
    first_days: str  # day 1..10 of the month: mùng / mồng


DIALECTS = {
    "south": Dialect("south", thousand="ngàn", odd="lẻ", four="tư", five="lăm", first_days="mùng"),
    "north": Dialect("north", thousand="nghìn", odd="linh", four="tư", five="lăm", first_days="mồng"),
}
assert tuple(DIALECTS) == limits.DIALECTS
DEFAULT_DIALECT = limits.DEFAULT_DIALECT

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
BILLION = 10**9
MAX_DIGITS = 15  # up to 999 nghìn tỷ: a longer run is no amount a listener can follow
_GROUP_SEPARATOR = re.compile(r"[ .]")
_DIGIT_RUN = re.compile(r"\d+")


def _tens_units(t: int, u: int, d: Dialect) -> list[str]:
    if t == 0:
        return [DIGITS[u]] if u else []
    words = ["mười"] if t == 1 else [DIGITS[t], "mươi"]
    if u == 1:
        words.append("một" if t == 1 else "mốt")
    elif u == 4:
        words.append("bốn" if t == 1 else d.four)
    elif u == 5:
        words.append(d.five)
    elif u:
        words.append(DIGITS[u])
    return words


def _triple(n: int, full: bool, d: Dialect) -> list[str]:
    """0 < n < 1000; ``full`` reads the hundreds and the odd zero even when they are zero (not leading)."""
    h, t, u = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if h or full:
        words += [DIGITS[h], "trăm"]
    if t == 0 and u and words:
        words += [d.odd, DIGITS[u]]
    else:
        words += _tens_units(t, u, d)
    return words


def _below_billion(n: int, full: bool, d: Dialect) -> list[str]:
    words: list[str] = []
    for scale, name in ((10**6, "triệu"), (1000, d.thousand), (1, "")):
        group = n // scale % 1000
        if group:
            words += _triple(group, full or bool(words), d)
            if name:
                words.append(name)
    return words


def cardinal_words(n: int, d: Dialect, full: bool = False) -> list[str]:
    if n < 0:
        return ["âm", *cardinal_words(-n, d)]
    if n == 0:
        return ["không"]
    high, low = divmod(n, BILLION)
    words: list[str] = []
    if high:
        words = [*cardinal_words(high, d, full), "tỷ"]
    if low:
        words += _below_billion(low, bool(high) or full, d)
    return words


def cardinal(n: int, d: Dialect) -> str:
    return " ".join(cardinal_words(n, d))


def digits(s: str) -> str:
    """Digit by digit, as for phone, account and ID numbers."""
    return " ".join(DIGITS[int(c)] for c in s if c.isdecimal())


def group_digits(s: str) -> list[str]:
    """The source's own groups ("0913 456 789"), else 4-3-3 for ten digits and threes otherwise."""
    groups = [g for g in _GROUP_SEPARATOR.split(s) if g]
    if len(groups) > 1:
        return groups
    n = len(s)
    if n <= 4:
        return [s]
    sizes = {8: (4, 4), 10: (4, 3, 3), 11: (4, 3, 4)}.get(n) or ((3,) * (n // 3 - 1) + (3 + n % 3,))
    out, i = [], 0
    for size in sizes:
        out.append(s[i : i + size])
        i += size
    return out


def read_digits(s: str) -> str:
    """Digit by digit in groups, a pause between them: phone, account and ID numbers."""
    return ", ".join(digits(g) for g in group_digits(s))


def amount(s: str, d: Dialect) -> str:
    """A digit string as a number; beyond MAX_DIGITS (nghìn tỷ) digit by digit in groups, as account
    numbers are read, since no listener follows a longer amount."""
    if len(s) > MAX_DIGITS:
        return read_digits(s)
    return cardinal(int(s), d)


def ordinal(n: int, d: Dialect) -> str:
    """The word after "thứ": thứ nhất, thứ hai, thứ tư, thứ mười bốn."""
    if n == 1:
        return "nhất"
    if n == 4:
        return "tư"
    return cardinal(n, d)


def fraction_part(s: str, d: Dialect) -> str:
    """What follows "phẩy": short parts as a number (3,25 -> hai mươi lăm), others digit by digit."""
    if len(s) <= 2 and not s.startswith("0"):
        return cardinal(int(s), d)
    return digits(s)


def parse_number(s: str) -> tuple[str, str | None, str | None] | None:
    """Vietnamese notation: "." groups thousands, "," marks decimals. Returns (whole, mark, fraction):
    the whole part as written ("1.234"), "," or "." for a decimal part or None for an integer. None when
    the string is no number."""
    if "," in s:
        whole, _, frac = s.partition(",")
        if "," in frac or "." in frac or not frac:
            return None
        whole_n = parse_number(whole)
        if whole_n is None or whole_n[1] is not None:
            return None
        return whole, ",", frac
    if not s:
        return None
    if "." in s:
        groups = s.split(".")
        if all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3:
            return s, None, None
        if len(groups) == 2 and groups[0] and groups[1]:
            return groups[0], ".", groups[1]
        return None
    return (s, None, None) if s.isdecimal() else None


def whole_amount(whole: str, d: Dialect) -> str:
    """The whole part as parse_number gives it: a number, or beyond MAX_DIGITS its groups digit by digit."""
    joined = whole.replace(".", "")
    return read_digits(whole) if len(joined) > MAX_DIGITS else cardinal(int(joined), d)


def amount_digits(s: str) -> int:
    """The digits of the longest whole number ``number`` reads from ``s`` ("1.234.567" counts 7)."""
    parsed = parse_number(s)
    runs = _DIGIT_RUN.findall(s)
    longest = max((len(r) for r in runs), default=0)
    return max(len(parsed[0].replace(".", "")), longest) if parsed else longest


def number(s: str, d: Dialect) -> str:
    """A written number as a quantity: "1.234.567", "3,5", "08", "4.0"."""
    parsed = parse_number(s)
    if parsed is None:
        return digits(s)
    whole, mark, frac = parsed
    if mark is None:
        return whole_amount(whole, d)
    assert frac is not None
    return f"{whole_amount(whole, d)} {'phẩy' if mark == ',' else 'chấm'} {fraction_part(frac, d)}"
