"""The state of one Vietnamese scan and the context questions handlers ask ("which word comes before?")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .builder import Builder
from .numbers_vi import Dialect

_WORD = re.compile(r"[^\W\d_]+")


def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Token kinds that hold a number: a dash between two of them is "đến".
NUMERIC = word_set("plate number time date monthyear slash phone daterange dashdate code series")


@dataclass
class Scan:
    text: str
    d: Dialect
    b: Builder
    lo: int = 0  # start of the sentence: context never looks before it
    hi: int = 0  # end of the sentence
    prev: str = ""  # kind of the last token
    per_end: int = 0  # end of the last "/" read as "per" ("trên")

    def words_before(self, start: int, n: int = 3) -> list[str]:
        return [w.lower() for w in _WORD.findall(self.text, max(self.lo, start - 40), start)[-n:]]

    def prev_word(self, start: int) -> str:
        words = self.words_before(start, 1)
        return words[0] if words else ""

    def word_after(self, end: int) -> str:
        m = _WORD.search(self.text, end, min(end + 30, self.hi))
        return m.group().lower() if m else ""


def line_start(text: str, a: int) -> bool:
    """Whether only spaces stand between the start of the line and ``a`` (where list markers stand)."""
    return text[:a].rstrip(" \t")[-1:] in ("", "\n")


def ends_with(words: list[str], phrases: tuple[str, ...]) -> bool:
    joined = " ".join(words)
    return any(joined == p or joined.endswith(" " + p) for p in phrases)
