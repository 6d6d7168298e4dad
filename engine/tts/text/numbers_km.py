"""Khmer number reading: cardinals with រយ ពាន់ ម៉ឺន សែន លាន, digit strings and decimals.

Khmer writes number words without spaces (១២៣៤៥ is មួយម៉ឺនពីរពាន់បីរយសែសិបប្រាំ). Below a million the
scales are 10 (ដប់/-សិប), 100 (រយ), 1000 (ពាន់), 10^4 (ម៉ឺន), 10^5 (សែន); above it the count of millions is
read the same way and followed by លាន (10^9 = មួយពាន់លាន, 10^12 = មួយលានលាន).
"""

from __future__ import annotations

DIGITS = ("សូន្យ", "មួយ", "ពីរ", "បី", "បួន", "ប្រាំ", "ប្រាំមួយ", "ប្រាំពីរ", "ប្រាំបី", "ប្រាំបួន")
TENS = ("", "ដប់", "ម្ភៃ", "សាមសិប", "សែសិប", "ហាសិប", "ហុកសិប", "ចិតសិប", "ប៉ែតសិប", "កៅសិប")
SCALES = ((10**5, "សែន"), (10**4, "ម៉ឺន"), (1000, "ពាន់"), (100, "រយ"))
MILLION = 10**6

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
    return " ".join(DIGITS[int(c)] for c in s.translate(TO_ASCII) if c.isdigit())


def number(s: str) -> str:
    """A written number in Khmer or Arabic digits; "." or "," before exactly three digits groups thousands,
    otherwise it marks decimals (ចុច for ".", ក្បៀស for ",")."""
    s = s.translate(TO_ASCII)
    for sep in " .,":
        groups = s.split(sep)
        grouped = len(groups) > 1 and 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
        if grouped and all(other not in s for other in " .," if other != sep):
            return cardinal(int("".join(groups)))
    for sep, word in ((",", "ក្បៀស"), (".", "ចុច")):
        whole, found, frac = s.rpartition(sep)
        if found and whole and frac.isdigit():
            frac_words = cardinal(int(frac)) if not frac.startswith("0") and len(frac) <= 2 else digits(frac)
            return number(whole) + word + frac_words
    if s.isdigit():
        return digits(s) if len(s) > 1 and int(s) == 0 else cardinal(int(s))
    return digits(s)
