"""The front-end's plain data: what it hands the synthesizer, and how that maps back to the source.

Spans count Unicode code points of the original text, so a client can highlight what is being said
(progress, subtitles) without knowing anything about the normalization rules.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Span:
    """[start, end) in code points of the original text."""

    start: int
    end: int


@dataclass(frozen=True)
class TextWarning:
    """Something the front-end could not read with confidence; it was still read, never dropped."""

    code: str  # "spelled_out", "unknown_symbol", "ambiguous_abbreviation", "foreign_word", ...
    message: str
    source_span: Span
    source_text: str
    spoken_as: str


@dataclass(frozen=True)
class LexiconUse:
    """An abbreviation-table entry that gave a reading: from the deployment's lexicon or built in."""

    written: str  # the table's written form
    spoken: str
    deployment: bool  # the deployment's own entry (loa.v1.Lexicon), else the built-in table
    source_span: Span  # what it read, in the source (a trailing "." taken with it included)


@dataclass(frozen=True)
class Piece:
    """One stretch of output and the source it came from; ``exact`` when copied character for character."""

    out_start: int
    out_end: int
    src_start: int
    src_end: int
    exact: bool


@dataclass(frozen=True)
class Normalized:
    text: str  # the speakable text
    warnings: tuple[TextWarning, ...] = ()
    pieces: tuple[Piece, ...] = field(default=(), repr=False, compare=False)
    lexicon: tuple[LexiconUse, ...] = field(default=(), compare=False)  # entries that read something

    @cached_property
    def _starts(self) -> list[int]:
        """Output starts of the pieces, built once: a sentence asks for every clause's span."""
        return [p.out_start for p in self.pieces]

    def source_span(self, start: int, end: int) -> Span:
        """The source span that produced output [start, end); a reading maps to its whole source token."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"output range [{start}, {end}) outside 0..{len(self.text)}")
        pieces = self.pieces
        if not pieces:
            return Span(0, 0)
        i = max(bisect_right(self._starts, start) - 1, 0)
        lo: int | None = None
        hi: int | None = None
        while i < len(pieces):
            p = pieces[i]
            if p.out_start >= end and lo is not None:
                break
            if p.out_end > start or (start == end and p.out_end >= start):
                if p.exact:
                    a = p.src_start + max(start - p.out_start, 0)
                    b = p.src_start + min(end, p.out_end) - p.out_start
                else:
                    a, b = p.src_start, p.src_end
                lo = a if lo is None else min(lo, a)
                hi = max(b, a) if hi is None else max(hi, b)
                if start == end:
                    break
            i += 1
        if lo is None or hi is None:
            last = pieces[-1]
            return Span(last.src_end, last.src_end)
        return Span(lo, hi)


@dataclass(frozen=True)
class Clause:
    text: str  # spoken form
    source_span: Span


@dataclass(frozen=True)
class Sentence:
    text: str  # spoken form
    source_span: Span
    clauses: tuple[Clause, ...]
    warnings: tuple[TextWarning, ...]
    lexicon: tuple[LexiconUse, ...] = ()  # the table entries that read words of it
