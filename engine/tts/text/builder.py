"""Assembles the speakable text piece by piece, remembering where each piece came from in the source."""

from __future__ import annotations

from .model import LexiconUse, Normalized, Piece, Span, TextWarning

_OPENERS = frozenset(" ([{\"'“‘«")
_PAUSES = ".,;:!?"


class Builder:
    """Positions are absolute code-point offsets in ``source``.

    ``spaced``: readings get single spaces around them (Vietnamese); without it they are joined to their
    neighbours as the source joins them (Khmer writes words without spaces). Consecutive exact copies
    are kept as one piece, so plain text costs one piece per run, not one per word.
    """

    def __init__(self, source: str, spaced: bool = True) -> None:
        self.source = source
        self.spaced = spaced
        self._parts: list[str] = []
        self._pieces: list[list[int]] = []  # [out_start, out_end, src_start, src_end, exact]
        self._len = 0
        self._last = " "
        self._glue = False  # the last thing was a reading: a following word must not touch it
        self.warnings: list[TextWarning] = []
        self.lexicon: list[LexiconUse] = []

    def _put(self, text: str, start: int, end: int, exact: bool) -> None:
        n = len(text)
        last = self._pieces[-1] if self._pieces else None
        if exact and last is not None and last[4] and last[3] == start and last[1] == self._len:
            last[1] += n
            last[3] = end
        else:
            self._pieces.append([self._len, self._len + n, start, end, exact])
        self._parts.append(text)
        self._len += n
        self._last = text[-1]

    def space(self, start: int, end: int) -> None:
        """Whitespace in the source: at most one space out, never at the start."""
        if self._len and self._last != " ":
            self._put(" ", start, end, end - start == 1 and self.source[start] == " ")
        self._glue = False

    def say(self, spoken: str, start: int, end: int) -> None:
        """A reading of source[start:end] (a number, a unit, an expansion...)."""
        if not spoken:
            return
        last = self._last
        if (
            self.spaced
            and last not in _OPENERS
            and (last.isalnum() or self._glue or last in _PAUSES or last == "%")
        ):
            self._put(" ", start, start, False)
        self._put(spoken, start, end, False)
        self._glue = True

    def pause(self, start: int, end: int) -> None:
        """A bracket or dash that only marks a pause: a comma, unless one is already there."""
        if not self._len or self._last in _PAUSES:
            return
        if self._last == " ":
            if self._parts[-2][-1:] in _PAUSES:
                return
            self._drop_space()
        self._put(",", start, end, False)
        self._glue = False

    def _drop_last(self) -> None:
        self._parts.pop()
        self._pieces.pop()
        self._len -= 1
        self._last = self._parts[-1][-1] if self._parts else " "

    def _drop_space(self) -> None:
        self._parts.pop()
        last = self._pieces[-1]
        if last[1] - last[0] == 1:
            self._pieces.pop()
        else:
            last[1] -= 1
            last[3] -= 1
        self._len -= 1
        self._last = self._parts[-1][-1] if self._parts else " "

    def copy(self, start: int, end: int) -> None:
        """Source text that is already speakable, copied character for character."""
        if start >= end:
            return
        text = self.source[start:end]
        if text[0] in ".!?;:," and self._last == "," and not self._pieces[-1][4]:
            self._drop_last()  # a bracket's pause right before a stop or comma: the source's mark is enough
        if self.spaced and (self._glue or self._last in _PAUSES) and text[0].isalnum():
            self._put(" ", start, start, False)
        self._put(text, start, end, True)
        self._glue = False

    def warn(self, code: str, message: str, start: int, end: int, spoken: str) -> None:
        self.warnings.append(TextWarning(code, message, Span(start, end), self.source[start:end], spoken))

    def used(self, written: str, spoken: str, deployment: bool, start: int, end: int) -> None:
        """A table entry read source [start, end): the Normalize preview lists it."""
        self.lexicon.append(LexiconUse(written, spoken, deployment, Span(start, end)))

    def build(self) -> Normalized:
        while self._parts and self._parts[-1] == " ":
            self._drop_space()
        pieces = tuple(Piece(a, b, c, d, bool(e)) for a, b, c, d, e in self._pieces)
        return Normalized("".join(self._parts), tuple(self.warnings), pieces, tuple(self.lexicon))
