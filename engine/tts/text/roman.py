"""Roman numerals as bulletins use them: Chương IV, Khóa XV, thế kỷ XXI."""

from __future__ import annotations

import re

_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_WELL_FORMED = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")


def parse_roman(text: str) -> int | None:
    """The value of a well-formed upper-case Roman numeral, else None ("IIII", "VX", "" are not)."""
    if not text or not _WELL_FORMED.fullmatch(text):
        return None
    total = 0
    for ch, nxt in zip(text, [*text[1:], ""], strict=True):
        value = _VALUES[ch]
        total += -value if nxt and _VALUES[nxt] > value else value
    return total
