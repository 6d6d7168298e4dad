"""Decomposed text (NFD, as macOS and some web forms send it) read as the composed text it stands for.

"ủy" written as u + U+0309 + y is the same word as the precomposed "ủy", but the rules see a letter, a
mark they cannot read and another letter. The front-end reads the NFC form and maps every span back to
the code points of the text as the client sent it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace

from .model import Normalized, Piece, Span, TextWarning


@dataclass(frozen=True)
class Composed:
    """``text`` in NFC; for each of its characters the source [start, end) it came from, and whether it
    is a copy of one source character (False where composing changed that stretch)."""

    source: str
    text: str
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    same: tuple[bool, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.starts)

    def span(self, start: int, end: int) -> Span:
        """The source span of composed [start, end)."""
        if not self.changed:
            return Span(start, end)
        n = len(self.text)
        a = self.starts[start] if start < n else len(self.source)
        b = self.ends[end - 1] if end > start else a
        return Span(a, max(a, b))

    def normalized(self, norm: Normalized) -> Normalized:
        """``norm`` (read from the composed text) with its pieces and warnings pointing into the source."""
        if not self.changed:
            return norm
        warnings = tuple(self._warning(w) for w in norm.warnings)
        pieces: list[Piece] = []
        for p in norm.pieces:
            if p.exact:
                pieces += self._exact(p)
            else:
                span = self.span(p.src_start, p.src_end)
                pieces.append(Piece(p.out_start, p.out_end, span.start, span.end, False))
        lexicon = tuple(
            replace(u, source_span=self.span(u.source_span.start, u.source_span.end)) for u in norm.lexicon
        )
        return Normalized(norm.text, warnings, tuple(pieces), lexicon)

    def _warning(self, w: TextWarning) -> TextWarning:
        span = self.span(w.source_span.start, w.source_span.end)
        return replace(w, source_span=span, source_text=self.source[span.start : span.end])

    def _exact(self, p: Piece) -> list[Piece]:
        """A copied stretch split where composing changed the source: copies of unchanged characters
        stay exact (so clause cuts and highlights keep character precision), the rest map whole."""
        out: list[Piece] = []
        i = p.src_start
        while i < p.src_end:
            j = i + 1
            if self.same[i]:
                while j < p.src_end and self.same[j] and self.starts[j] == self.starts[j - 1] + 1:
                    j += 1
                exact = True
            else:
                while j < p.src_end and not self.same[j] and self.starts[j] == self.starts[i]:
                    j += 1
                exact = False
            o = p.out_start + i - p.src_start
            out.append(Piece(o, o + j - i, self.starts[i], self.ends[j - 1], exact))
            i = j
        return out


def compose(text: str) -> Composed:
    """NFC with its map back to ``text``. Composition is done per starter and the marks after it; in the
    rare scripts where it joins two starters the pieces disagree with NFC of the whole, and the text is
    read as written."""
    if unicodedata.is_normalized("NFC", text):
        return Composed(text, text)
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    same: list[bool] = []
    a = 0
    n = len(text)
    for i in range(1, n + 1):
        if i < n and unicodedata.combining(text[i]):
            continue
        segment = text[a:i]
        composed = unicodedata.normalize("NFC", segment)
        parts.append(composed)
        if composed == segment:
            starts += range(a, i)
            ends += range(a + 1, i + 1)
            same += [True] * len(segment)
        else:
            starts += [a] * len(composed)
            ends += [i] * len(composed)
            same += [False] * len(composed)
        a = i
    joined = "".join(parts)
    if joined != unicodedata.normalize("NFC", text):
        return Composed(text, text)
    return Composed(text, joined, tuple(starts), tuple(ends), tuple(same))
