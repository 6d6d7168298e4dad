"""Vietnamese number reading: cardinals, digit strings, decimals, ordinals.

The rules a speaker applies, not the ones a dictionary lists: 21 is "hai mươi mốt", 15 "mười lăm", 24
"hai mươi tư", 105 "một trăm lẻ năm", and every group of three after the first is read in full
(2025 is "hai nghìn không trăm hai mươi lăm"). Where North and South differ the Dialect says which.
"""

from __future__ import annotations

from dataclasses import dataclass


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
DEFAULT_DIALECT = "south"

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
BILLION = 10**9


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
    return " ".join(DIGITS[int(c)] for c in s if c.isdigit())


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


def parse_number(s: str) -> tuple[int, str | None, str | None] | None:
    """Vietnamese notation: "." groups thousands, "," marks decimals. Returns (integer, mark, fraction).

    The mark is "," or "." for a decimal part, None for an integer. None when the string is no number.
    """
    if "," in s:
        whole, _, frac = s.partition(",")
        if "," in frac or "." in frac or not frac:
            return None
        whole_n = parse_number(whole)
        if whole_n is None or whole_n[1] is not None:
            return None
        return whole_n[0], ",", frac
    if "." in s:
        groups = s.split(".")
        if all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3:
            return int("".join(groups)), None, None
        if len(groups) == 2 and groups[0] and groups[1]:
            return int(groups[0]), ".", groups[1]
        return None
    return int(s), None, None


def number(s: str, d: Dialect) -> str:
    """A written number as a quantity: "1.234.567", "3,5", "08", "4.0"."""
    parsed = parse_number(s)
    if parsed is None:
        return digits(s)
    whole, mark, frac = parsed
    if mark is None:
        return cardinal(whole, d)
    assert frac is not None
    return f"{cardinal(whole, d)} {'phẩy' if mark == ',' else 'chấm'} {fraction_part(frac, d)}"
