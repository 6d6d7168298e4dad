"""Questions about the line a position stands on, answered by looking back only as far as needed.

Context checks that copy or scan the text from its start on every token make a long text quadratic:
these look back over the blanks before a position and no further.
"""

from __future__ import annotations

import re

_FIRST_SPEAKABLE = re.compile(r"\S")
# Every whitespace character but the line break (all are below U+3001).
BLANKS = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c != "\n")


def line_start(text: str, a: int, blanks: str = " \t") -> bool:
    """Whether only ``blanks`` stand between the start of the line and ``a`` (where list markers stand)."""
    i = a
    while i > 0 and text[i - 1] in blanks:
        i -= 1
    return i == 0 or text[i - 1] == "\n"


def first_non_space(text: str, start: int, end: int) -> int:
    """The first position in [start, end) that is not whitespace, or ``end``."""
    m = _FIRST_SPEAKABLE.search(text, start, end)
    return m.start() if m else end


class SeenBefore:
    """Whether ``cues`` (a pattern matching at most ``longest`` characters) occurs whole in text[lo:start].

    Handlers ask in increasing order of ``start``, so each stretch of the text is searched once, not once
    per token as a search from ``lo`` would be."""

    def __init__(self, text: str, lo: int, cues: re.Pattern[str], longest: int) -> None:
        self.text, self.lo, self.cues, self.longest = text, lo, cues, longest
        self._searched = lo
        self._found_end = -1

    def __call__(self, start: int) -> bool:
        if self._found_end < 0 and start > self._searched:
            m = self.cues.search(self.text, max(self.lo, self._searched - self.longest + 1), start)
            self._searched = start
            self._found_end = m.end() if m else -1
        return 0 <= self._found_end <= start
