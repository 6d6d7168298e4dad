"""Spelling out what has no reading: letters one by one, e-mail and web addresses, unknown acronyms."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from . import numbers_vi
from .tables import abbreviations, mapping

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
        if ch.isdecimal():
            out.append(numbers_vi.DIGITS[int(ch)])
        else:
            out.append(names.get(ch.lower(), ch))
    return " ".join(out)


def address(text: str) -> str:
    """An e-mail or web address: known pieces as words, the rest letter by letter, symbols named.

    Vietnamese words written without tones ("dichvucong", "tin-tuc") get their tones back from
    data/toneless_vi.tsv where it knows them; a known abbreviation in front ("ubndphuong") is spelled, as
    the listener must type it."""
    parts = _PARTS.findall(text)
    out = []
    i = 0
    while i < len(parts):
        part = parts[i]
        low = part.lower()
        if low in _URL_WORDS:
            out.append(_URL_WORDS[low])
        elif part.isdecimal():
            out.append(numbers_vi.digits(part))
        elif part in _URL_SYMBOLS:
            out.append(_URL_SYMBOLS[part])
        elif low in mapping("loanwords_vi", fold_case=True):
            out.append(mapping("loanwords_vi", fold_case=True)[low])
        elif part.isalpha():
            run = [low]  # words joined by hyphens ("tin-tuc") are toned as one phrase
            while i + 2 < len(parts) and parts[i + 1] == "-" and parts[i + 2].isalpha():
                run.append(parts[i + 2].lower())
                i += 2
            out.append(f" {_URL_SYMBOLS['-']} ".join(_address_words(run)))
        else:
            out.append(mapping("symbols_vi").get(part, letters(part)))
        i += 1
    return " ".join(out)


def _address_words(run: list[str]) -> list[str]:
    """The readings of hyphen-joined lower-case words of an address, one per word."""
    pieces = [_syllables_or_abbreviation(w) for w in run]
    flat = [s for head, sylls in pieces for s in sylls]
    toned = iter(tone(flat))
    out = []
    for head, sylls in pieces:
        words = [head] if head else []
        words += [next(toned) for _ in sylls]
        out.append(" ".join(words))
    return out


def _syllables_or_abbreviation(word: str) -> tuple[str, list[str]]:
    """(spelled head, toneless syllables): the word whole from the table, split into syllables, or a
    known abbreviation and syllables ("ubndphuong"); else spelled whole with no syllables."""
    whole = _toneless_whole().get(word)
    if whole:
        return "", word_syllables(whole)
    split = syllables(word)
    if split:
        return "", split.split()
    table = abbreviations("abbreviations_vi")
    for i in range(min(len(word) - 2, _longest_abbreviation()), 1, -1):
        rest = syllables(word[i:])
        if rest and (word[:i].upper() in table or word[:i].upper().replace("D", "Đ") in table):
            return letters(word[:i]), rest.split()
    return letters(word), []


@lru_cache(maxsize=1)
def _longest_abbreviation() -> int:
    return max(len(k) for k in abbreviations("abbreviations_vi"))


def word_syllables(toned: str) -> list[str]:
    return [_untoned(s) for s in toned.split()]


def _untoned(syllable: str) -> str:
    """As an address writes it: no tone, no vowel marks, "đ" as "d"."""
    bare = unicodedata.normalize("NFD", syllable.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in bare if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _toneless_whole() -> dict[str, str]:
    """Table rows looked up as one address word: "dichvucong" -> "dịch vụ công"."""
    return {k.replace(" ", ""): v for k, v in mapping("toneless_vi").items()}


def tone(sylls: list[str]) -> list[str]:
    """Toneless syllables with their tones restored where a table phrase covers them, longest first."""
    table = mapping("toneless_vi")
    out: list[str] = []
    i = 0
    while i < len(sylls):
        for k in range(min(4, len(sylls) - i), 0, -1):
            reading = table.get(" ".join(sylls[i : i + k]))
            if reading:
                out += reading.split()
                i += k
                break
        else:
            out.append(sylls[i])
            i += 1
    return out


_BASE = str.maketrans(
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ",
    "aaaaaăăăăăâââââeeeeeêêêêêiiiiioooooôôôôôơơơơơuuuuuưưưưưyyyyy",
)
_ONSET = re.compile(r"ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx]")
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(?:[aăâeêioôơuưy]{1,3})(?:ch|ng|nh|[cmnpt])?"
)


@lru_cache(maxsize=4096)
def syllables(word: str) -> str | None:
    """A run of toneless Vietnamese syllables split apart ("dichvucong" -> "dich vu cong"), or None.

    Fewest pieces, then the longest onsets (maximal onset: "hotro" is "ho tro", not "hot ro"); every
    piece has two letters or more, so "xyz" stays unsplittable.
    """
    sizes = _split(word.translate(_BASE))
    if sizes is None:
        return None
    out, i = [], 0
    for size in sizes:
        out.append(word[i : i + size])
        i += size
    return " ".join(out)


def _split(word: str) -> list[int] | None:
    """The piece sizes of the cheapest split, by dynamic programming from the end of the word (a loop,
    not recursion: an address may hold a word of any length)."""
    n = len(word)
    cost: list[int | None] = [None] * (n + 1)
    choice = [0] * (n + 1)
    cost[n] = 0
    for i in range(n - 2, -1, -1):
        for size in range(2, min(n - i, 7) + 1):
            rest = cost[i + size]
            if rest is None:
                continue
            piece = word[i : i + size]
            if _SYLLABLE.fullmatch(piece) is None:
                continue
            onset = _ONSET.match(piece)
            here = rest + 10 - (len(onset.group()) if onset else 0)
            best = cost[i]
            if best is None or here < best:
                cost[i], choice[i] = here, size
    if cost[0] is None:
        return None
    sizes, i = [], 0
    while i < n:
        sizes.append(choice[i])
        i += choice[i]
    return sizes


def is_vietnamese_syllable(lower_word: str) -> bool:
    """Whether a lower-case word can be a Vietnamese syllable (so a voice can say it as written)."""
    return _SYLLABLE.fullmatch(lower_word.translate(_BASE)) is not None
