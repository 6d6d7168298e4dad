"""The state of one Vietnamese scan and the context questions handlers ask ("which word comes before?")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .builder import Builder
from .lines import SeenBefore, first_non_space, line_start
from .numbers_vi import Dialect
from .tables import Lexicon, abbreviations

__all__ = ["NUMERIC", "Scan", "ends_with", "line_start", "word_set"]

_WORD = re.compile(r"[^\W\d_]+")
_NEXT_CHAR = re.compile(r"\s*(\S)")


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
    table: Lexicon = field(
        default_factory=lambda: abbreviations("abbreviations_vi")
    )  # with any deployment layer
    date_end: int = -1  # end of the last day-and-month read: "đến 20.10" after "từ ngày 15.10" is a date too
    _first: int = field(default=-1, init=False)  # the first non-space position of the sentence, once asked
    _cues: dict[re.Pattern[str], SeenBefore] = field(default_factory=dict, init=False)

    def at_sentence_start(self, start: int) -> bool:
        """Whether only whitespace stands between the start of the sentence and ``start``."""
        if self._first < 0:
            self._first = first_non_space(self.text, self.lo, self.hi)
        return start <= self._first

    def next_char(self, end: int) -> str:
        """The first non-space character at or after ``end`` in the sentence, or ""."""
        m = _NEXT_CHAR.match(self.text, end, self.hi)
        return m.group(1) if m else ""

    def said_before(self, cues: re.Pattern[str], start: int, longest: int) -> bool:
        """Whether ``cues`` occurs in the sentence before ``start`` (see lines.SeenBefore)."""
        seen = self._cues.get(cues)
        if seen is None:
            seen = self._cues[cues] = SeenBefore(self.text, self.lo, cues, longest)
        return seen(start)

    def words_before(self, start: int, n: int = 3) -> list[str]:
        return [w.lower() for w in _WORD.findall(self.text, max(self.lo, start - 40), start)[-n:]]

    def prev_word(self, start: int) -> str:
        words = self.words_before(start, 1)
        return words[0] if words else ""

    def word_after(self, end: int) -> str:
        m = _WORD.search(self.text, end, min(end + 30, self.hi))
        return m.group().lower() if m else ""


def ends_with(words: list[str], phrases: tuple[str, ...]) -> bool:
    joined = " ".join(words)
    return any(joined == p or joined.endswith(" " + p) for p in phrases)
