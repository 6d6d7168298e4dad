"""Khmer number reading: cardinals with រយ ពាន់ ម៉ឺន សែន លាន, digit strings and decimals.

Khmer writes number words without spaces (១២៣៤៥ is មួយម៉ឺនពីរពាន់បីរយសែសិបប្រាំ). Below a million the
scales are 10 (ដប់/-សិប), 100 (រយ), 1000 (ពាន់), 10^4 (ម៉ឺន), 10^5 (សែន); above it the count of millions is
read the same way and followed by លាន (10^9 = មួយពាន់លាន, 10^12 = មួយលានលាន).
"""

from __future__ import annotations

import re

DIGITS = ("សូន្យ", "មួយ", "ពីរ", "បី", "បួន", "ប្រាំ", "ប្រាំមួយ", "ប្រាំពីរ", "ប្រាំបី", "ប្រាំបួន")
TENS = ("", "ដប់", "ម្ភៃ", "សាមសិប", "សែសិប", "ហាសិប", "ហុកសិប", "ចិតសិប", "ប៉ែតសិប", "កៅសិប")
SCALES = ((10**5, "សែន"), (10**4, "ម៉ឺន"), (1000, "ពាន់"), (100, "រយ"))
MILLION = 10**6
MAX_DIGITS = 15  # up to 999 million millions: a longer run is no amount a listener can follow
_SEPARATOR = re.compile(r"[ .,]")
_NUMBER = re.compile(r"\d+(?:[ .,]\d+)*", re.ASCII)
_DECIMAL = {",": "ក្បៀស", ".": "ចុច"}

# Khmer digits ០..៩ to ASCII, so one parser serves both scripts.
TO_ASCII = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


def _below_million(n: int) -> str:
    out = []
    for scale, name in SCALES:
        if n >= scale:
            out.append(DIGITS[n // scale] + name)
            n %= scale
    if n >= 10:
        out.append(TENS[n // 10])
        n %= 10
    if n:
        out.append(DIGITS[n])
    return "".join(out)


def cardinal(n: int) -> str:
    if n < 0:
        return "ដក" + cardinal(-n)
    if n == 0:
        return DIGITS[0]
    millions, rest = divmod(n, MILLION)
    head = cardinal(millions) + "លាន" if millions else ""
    return head + _below_million(rest)


def digits(s: str) -> str:
    """Digit by digit (phone numbers), a space between digits so each is heard."""
    return " ".join(DIGITS[int(c)] for c in s.translate(TO_ASCII) if c.isdecimal())


def digit_groups(groups: list[str]) -> str:
    """Digit by digit with a pause between groups: how a run too long to be an amount is read."""
    return ", ".join(digits(g) for g in groups if g)


def amount(s: str) -> str:
    """A digit string as a number; beyond MAX_DIGITS digit by digit in threes."""
    s = s.translate(TO_ASCII)
    if len(s) > MAX_DIGITS:
        return digit_groups([s[i : i + 3] for i in range(0, len(s), 3)])
    return cardinal(int(s))


def _parts(s: str) -> tuple[list[str], list[str], int]:
    """Digit runs, the separators between them, and the last run of the longest prefix that is one
    grouped number ("1.234.567", "12 345": one separator, three digits after each); 0 when none is."""
    runs, seps = _SEPARATOR.split(s), _SEPARATOR.findall(s)
    last = 0
    if 1 <= len(runs[0]) <= 3:
        while last < len(seps) and seps[last] == seps[0] and len(runs[last + 1]) == 3:
            last += 1
    return runs, seps, last


def amount_digits(s: str) -> int:
    """The digits of the longest whole number ``number`` would read from ``s`` as an amount."""
    s = s.translate(TO_ASCII)
    if not _NUMBER.fullmatch(s):
        return 0
    runs, _, last = _parts(s)
    return max(sum(len(r) for r in runs[: last + 1]), *(len(r) for r in runs))


def number(s: str) -> str:
    """A written number in Khmer or Arabic digits; "." or "," before exactly three digits groups thousands,
    otherwise it marks decimals (ចុច for ".", ក្បៀស for ",").

    Read from the right: each trailing part that does not continue a grouped number is a decimal part
    ("1.5.2" is មួយចុចប្រាំចុចពីរ). A loop, so a run of any length costs time in proportion to it."""
    s = s.translate(TO_ASCII)
    if not _NUMBER.fullmatch(s):
        return digits(s)
    runs, seps, grouped = _parts(s)
    tail: list[str] = []
    k = len(runs) - 1
    while k > grouped and seps[k - 1] != " ":
        frac = runs[k]
        frac_words = cardinal(int(frac)) if not frac.startswith("0") and len(frac) <= 2 else digits(frac)
        tail.append(_DECIMAL[seps[k - 1]] + frac_words)
        k -= 1
    if k > grouped:  # a space after a part that is no grouped number: digit by digit
        head = digits("".join(runs[: k + 1]))
    elif k > 0:
        whole = "".join(runs[: k + 1])
        head = digit_groups(runs[: k + 1]) if len(whole) > MAX_DIGITS else cardinal(int(whole))
    elif len(runs[0]) > 1 and not runs[0].strip("0"):
        head = digits(runs[0])  # "00"
    else:
        head = amount(runs[0])
    return head + "".join(reversed(tail))
