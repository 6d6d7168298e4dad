"""Independent readers for the property tests: spoken Vietnamese and Khmer numbers back to integers.

Written from the grammar, not from the code under test, and strict: a reading a speaker would not say
(21 as "hai mươi một", 25 as "hai mươi năm", 1005 as "một nghìn năm") raises ValueError.
"""

from __future__ import annotations

VI_DIGITS = {
    "không": 0,
    "một": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "năm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
}
VI_THOUSAND = ("nghìn", "ngàn")


def _digit(word: str) -> int:
    if word not in VI_DIGITS:
        raise ValueError(f"not a digit word: {word!r}")
    return VI_DIGITS[word]


def _units_after_tens(word: str, tens: int) -> int:
    """The unit after mười (tens == 1) or mươi: 1 is mốt after mươi, 5 is lăm/nhăm, 4 may be tư after mươi."""
    if word in ("lăm", "nhăm"):
        return 5
    if word == "mốt" and tens > 1:
        return 1
    if word == "tư" and tens > 1:
        return 4
    if word in ("năm", "không") or (word == "một" and tens > 1):
        raise ValueError(f"{word!r} cannot follow {'mười' if tens == 1 else 'mươi'}")
    return _digit(word)


def _triple(words: list[str], leading: bool) -> int:
    value, i = 0, 0
    if len(words) >= 2 and words[1] == "trăm":
        value, i = _digit(words[0]) * 100, 2
    elif not leading:
        raise ValueError(f"a group after a scale word must say its hundreds: {words}")
    rest = words[i:]
    if not rest:
        return value
    if rest[0] in ("lẻ", "linh"):
        if len(rest) != 2 or i == 0 or rest[1] == "không":
            raise ValueError(f"bad lẻ/linh: {words}")
        return value + _digit(rest[1])
    if rest[0] == "mười":
        if len(rest) > 2:
            raise ValueError(f"bad teen: {words}")
        return value + 10 + (_units_after_tens(rest[1], 1) if len(rest) == 2 else 0)
    if len(rest) >= 2 and rest[1] == "mươi":
        tens = _digit(rest[0])
        if tens < 2 or len(rest) > 3:
            raise ValueError(f"bad tens: {words}")
        return value + tens * 10 + (_units_after_tens(rest[2], tens) if len(rest) == 3 else 0)
    if len(rest) == 1 and (i == 0):
        return value + _digit(rest[0])
    raise ValueError(f"cannot read group {words}")


def _below_billion(words: list[str], leading: bool) -> int:
    total = 0
    for scale, names in ((10**6, ("triệu",)), (1000, VI_THOUSAND)):
        at = next((i for i, w in enumerate(words) if w in names), None)
        if at is not None:
            total += _triple(words[:at], leading) * scale
            words = words[at + 1 :]
            leading = False
    if words:
        total += _triple(words, leading)
    return total


def read_vi(text: str) -> int:
    words = text.split()
    if words == ["không"]:
        return 0
    if "tỷ" in words:
        at = len(words) - 1 - words[::-1].index("tỷ")
        return read_vi(" ".join(words[:at])) * 10**9 + (
            _below_billion(words[at + 1 :], False) if words[at + 1 :] else 0
        )
    return _below_billion(words, True)


KM_WORDS = {
    "សូន្យ": 0, "មួយ": 1, "ពីរ": 2, "បី": 3, "បួន": 4, "ប្រាំ": 5,
    "ដប់": 10, "ម្ភៃ": 20, "សាមសិប": 30, "សែសិប": 40, "ហាសិប": 50, "ហុកសិប": 60, "ចិតសិប": 70,
    "ប៉ែតសិប": 80, "កៅសិប": 90,
}  # fmt: skip
KM_SCALES = {"រយ": 100, "ពាន់": 1000, "ម៉ឺន": 10**4, "សែន": 10**5}


def _km_tokens(text: str) -> list[str]:
    vocab = sorted([*KM_WORDS, *KM_SCALES, "លាន"], key=len, reverse=True)
    out, i = [], 0
    while i < len(text):
        word = next((w for w in vocab if text.startswith(w, i)), None)
        if word is None:
            raise ValueError(f"unknown Khmer at {text[i:]!r}")
        out.append(word)
        i += len(word)
    return out


def _km_below_million(tokens: list[str]) -> int:
    total, digit, last_scale = 0, None, 10**6
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in KM_SCALES:
            scale = KM_SCALES[t]
            if digit is None or scale >= last_scale:
                raise ValueError(f"bad scale order in {tokens}")
            total += digit * scale
            digit, last_scale = None, scale
        else:
            value = KM_WORDS[t]
            if t == "ប្រាំ" and i + 1 < len(tokens) and tokens[i + 1] in ("មួយ", "ពីរ", "បី", "បួន"):
                value += KM_WORDS[tokens[i + 1]]
                i += 1
            if digit is not None:
                if digit < 10 or value >= 10:
                    raise ValueError(f"two numbers in a row in {tokens}")
                total += digit
                digit = value
            else:
                digit = value
            if value >= 10:
                total += value
                digit = None
                last_scale = 10
        i += 1
    return total + (digit or 0)


def read_km(text: str) -> int:
    tokens = _km_tokens(text)
    if tokens == ["សូន្យ"]:
        return 0
    if "លាន" in tokens:
        at = len(tokens) - 1 - tokens[::-1].index("លាន")
        return read_km("".join(tokens[:at])) * 10**6 + (
            _km_below_million(tokens[at + 1 :]) if tokens[at + 1 :] else 0
        )
    return _km_below_million(tokens)
