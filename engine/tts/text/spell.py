"""Spelling out what has no reading: letters one by one, e-mail and web addresses, unknown acronyms."""

from __future__ import annotations

import re
from functools import lru_cache

from . import numbers_vi
from .tables import mapping

_PARTS = re.compile(r"\d+|[^\W\d_]+|.", re.S)
_URL_WORDS = {
    "https": "hát tê tê pê ét",
    "http": "hát tê tê pê",
    "www": "vê kép vê kép vê kép",
    "gov": "gốp",
    "com": "com",
    "vn": "vê en",
    "org": "o rờ gờ",
    "net": "nét",
    "edu": "e đu",
}
_URL_SYMBOLS = {
    ".": "chấm",
    "@": "a còng",
    "/": "gạch chéo",
    "-": "gạch ngang",
    "_": "gạch dưới",
    ":": "hai chấm",
}


def letters(word: str) -> str:
    names = mapping("letters_vi")
    out = []
    for ch in word:
        if ch.isdigit():
            out.append(numbers_vi.DIGITS[int(ch)])
        else:
            out.append(names.get(ch.lower(), ch))
    return " ".join(out)


def address(text: str) -> str:
    """An e-mail or web address: known pieces as words, the rest letter by letter, symbols named."""
    out = []
    for part in _PARTS.findall(text):
        low = part.lower()
        if low in _URL_WORDS:
            out.append(_URL_WORDS[low])
        elif part.isdigit():
            out.append(numbers_vi.digits(part))
        elif part in _URL_SYMBOLS:
            out.append(_URL_SYMBOLS[part])
        elif low in mapping("loanwords_vi", fold_case=True):
            out.append(mapping("loanwords_vi", fold_case=True)[low])
        elif part.isalpha():
            out.append(syllables(low) or letters(part))
        else:
            out.append(mapping("symbols_vi").get(part, letters(part)))
    return " ".join(out)


_BASE = str.maketrans(
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ",
    "aaaaaăăăăăâââââeeeeeêêêêêiiiiioooooôôôôôơơơơơuuuuuưưưưưyyyyy",
)
_ONSET = re.compile(r"ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx]")
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(?:[aăâeêioôơuưy]{1,3})(?:ch|ng|nh|[cmnpt])?"
)


def syllables(word: str) -> str | None:
    """A run of toneless Vietnamese syllables split apart ("dichvucong" -> "dich vu cong"), or None.

    Fewest pieces, then the longest onsets (maximal onset: "hotro" is "ho tro", not "hot ro"); every
    piece has two letters or more, so "xyz" stays unsplittable.
    """
    best = _split(word.translate(_BASE), 0)
    if best is None:
        return None
    out, i = [], 0
    for size in best[1]:
        out.append(word[i : i + size])
        i += size
    return " ".join(out)


@lru_cache(maxsize=8192)
def _split(word: str, i: int) -> tuple[int, tuple[int, ...]] | None:
    if i == len(word):
        return 0, ()
    best: tuple[int, tuple[int, ...]] | None = None
    for size in range(2, min(len(word) - i, 7) + 1):
        piece = word[i : i + size]
        if _SYLLABLE.fullmatch(piece) is None:
            continue
        rest = _split(word, i + size)
        if rest is None:
            continue
        onset = _ONSET.match(piece)
        cost = rest[0] + 10 - (len(onset.group()) if onset else 0)
        if best is None or cost < best[0]:
            best = (cost, (size, *rest[1]))
    return best


def is_vietnamese_syllable(lower_word: str) -> bool:
    """Whether a lower-case word can be a Vietnamese syllable (so a voice can say it as written)."""
    return _SYLLABLE.fullmatch(lower_word.translate(_BASE)) is not None
