"""Assembles the speakable text piece by piece, remembering where each piece came from in the source."""

from __future__ import annotations

from .model import Normalized, Piece, Span, TextWarning

_OPENERS = frozenset(" ([{\"'“‘«")


class Builder:
    """Positions are absolute code-point offsets in ``source``.

    ``spaced``: readings get single spaces around them (Vietnamese); without it they are joined to their
    neighbours as the source joins them (Khmer writes words without spaces).
    """

    def __init__(self, source: str, spaced: bool = True) -> None:
        self.source = source
        self.spaced = spaced
        self._parts: list[str] = []
        self._pieces: list[Piece] = []
        self._len = 0
        self._last = " "
        self._glue = False  # the last thing was a reading: a following word must not touch it
        self.warnings: list[TextWarning] = []

    def _put(self, text: str, start: int, end: int, exact: bool) -> None:
        self._parts.append(text)
        self._pieces.append(Piece(self._len, self._len + len(text), start, end, exact))
        self._len += len(text)
        self._last = text[-1]

    def space(self, start: int, end: int) -> None:
        """Whitespace in the source: at most one space out, never at the start."""
        if self._len and self._last != " ":
            self._put(" ", start, end, False)
        self._glue = False

    def say(self, spoken: str, start: int, end: int) -> None:
        """A reading of source[start:end] (a number, a unit, an expansion...)."""
        if not spoken:
            return
        if (
            self.spaced
            and self._last not in _OPENERS
            and (self._last.isalnum() or self._glue or self._last in ".,;:!?%")
        ):
            self._put(" ", start, start, False)
        self._put(spoken, start, end, False)
        self._glue = True

    def pause(self, start: int, end: int) -> None:
        """A bracket or dash that only marks a pause: a comma, unless one is already there."""
        if (
            not self._len
            or self._last in ".,;:!?"
            or (self._last == " " and self._parts[-2][-1:] in ".,;:!?")
        ):
            return
        if self._last == " ":
            self._parts.pop()
            self._pieces.pop()
            self._len -= 1
        self._put(",", start, end, False)
        self._glue = False

    def copy(self, start: int, end: int) -> None:
        """Source text that is already speakable, copied character for character."""
        if start >= end:
            return
        text = self.source[start:end]
        if self.spaced and self._glue and text[0].isalnum():
            self._put(" ", start, start, False)
        self._put(text, start, end, True)
        self._glue = False

    def warn(self, code: str, message: str, start: int, end: int, spoken: str) -> None:
        self.warnings.append(TextWarning(code, message, Span(start, end), self.source[start:end], spoken))

    def build(self) -> Normalized:
        while self._parts and self._parts[-1] == " ":
            self._parts.pop()
            self._pieces.pop()
        return Normalized("".join(self._parts), tuple(self.warnings), tuple(self._pieces))
