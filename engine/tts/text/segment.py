"""Where sentences end in the source, and where a spoken sentence may be cut into clauses for streaming.

A full stop ends a sentence only when a new sentence can start after it: not after "TP." or "Q." before a
name, not after a list number ("1. Các hộ..."), not before a lower-case word. Decimals and dates
("3.5", "02.9.2025") have no space after their dots, so they never look like an end.
"""

from __future__ import annotations

import re
from functools import cache

from .lines import BLANKS, line_start
from .model import Normalized, Span
from .tables import abbreviations

# A run of marks is tried once, from its first mark and without backtracking: tried from every mark of a
# run not followed by a space ("....x"), it made a long run quadratic.
_CANDIDATE = re.compile(r"(?<![.!?…])([.!?…]++)[\"'”’»)\]]*+(?=\s|$)|[។៕]+[\"'”’»)\]]*|\n")
_NEXT_LINE = re.compile(
    r"[ \t]*(?:(?P<blank>\n|$)|(?P<marker>[-+•*–]\s|\d{1,2}[.)]\s|[a-zđ][.)]\s|[IVXLC]+\.\s)|(?P<first>\S))"
)
_WORD_BEFORE = re.compile(r"([^\W_]+)$")
_NEXT = re.compile(r"\s*[\"'“‘«(\[]*(\S)?")
_DOTTED = frozenset(
    {"ThS", "Th", "TS", "BS", "PGS", "GS", "KS", "Ths", "St", "Mr", "Mrs", "Dr", "v.v", "vv", "No"}
)
_SPEAKABLE = re.compile(r"[^\W_]|[^\s\"'“”‘’«».,;:!?…()\[\]{}\-–—។៕]")

_ENDS = ".!?:;…។៕\"'”’»)"
WRAPPED_LINE_CHARS = 60  # a line this long without an end mark was wrapped, not a heading
FIRST_CLAUSE_CHARS = 60  # the first piece of a bulletin is short so the first audio comes quickly
CLAUSE_CHARS = 150
MIN_CLAUSE_CHARS = 16


@cache
def _dotted_words() -> frozenset[str]:
    table = abbreviations("abbreviations_vi")
    return _DOTTED | {k for k, rows in table.items() if "before_name" in rows}


def _is_end(text: str, m: re.Match[str], dotted: frozenset[str]) -> bool:
    mark = m.group(1)
    if m.group() == "\n":
        return _line_ends_sentence(text, m.start())
    if mark is None:
        return True  # a Khmer end mark
    nxt = _NEXT.match(text, m.end())
    following = nxt.group(1) if nxt else None
    if following is None:
        return True
    if mark in (".", "…", "...") and following.islower():
        return False
    if mark != ".":
        return True
    word = _WORD_BEFORE.search(text, max(0, m.start() - 12), m.start())
    if word is None:
        return True
    token = word.group(1)
    if token in dotted:
        return False
    at_line_start = line_start(text, word.start(), BLANKS)
    is_marker = token.isdigit() or (len(token) == 1 and token.isalpha()) or set(token) <= set("IVXLC")
    return not (at_line_start and is_marker and len(token) <= 4)


def _line_ends_sentence(text: str, at: int) -> bool:
    """A line break ends a sentence unless the text was only wrapped: the line before ends in a comma or
    the next line goes on in lower case. Blank lines, headings and list items always end one."""
    nxt = _NEXT_LINE.match(text, at + 1)
    if nxt is None or nxt.group("blank") is not None or nxt.group("marker") is not None:
        return True
    line = text[text.rfind("\n", 0, at) + 1 : at].strip()
    if line.endswith(",") or (len(line) >= WRAPPED_LINE_CHARS and line[-1] not in _ENDS):
        return False  # a long line that stops mid-sentence was wrapped
    first = nxt.group("first")
    return first.isupper() or (first.isalpha() and not first.islower())  # uncased scripts: a new line


def sentence_spans(text: str) -> list[Span]:
    dotted = _dotted_words()
    spans = []
    start = 0
    for m in _CANDIDATE.finditer(text):
        if _is_end(text, m, dotted):
            spans.append((start, m.end()))
            start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, z in spans:
        while a < z and text[a].isspace():
            a += 1
        while z > a and text[z - 1].isspace():
            z -= 1
        if _SPEAKABLE.search(text, a, z):
            out.append(Span(a, z))
    return out


def clause_cuts(norm: Normalized, first: bool) -> list[tuple[int, int]]:
    """Output ranges of the clauses of one spoken sentence.

    Cuts go after , ; : and, in a clause still too long, at a space between two source tokens (never
    inside the reading of one number). Pieces shorter than MIN_CLAUSE_CHARS join the next one.
    """
    text = norm.text
    spaces = []
    for p in norm.pieces:
        if p.exact:
            i = text.find(" ", p.out_start, p.out_end)
            while i >= 0:
                spaces.append(i)
                i = text.find(" ", i + 1, p.out_end)
        elif p.out_end - p.out_start == 1 and text[p.out_start] == " ":
            spaces.append(p.out_start)
    punct = {i for i in spaces if i > 0 and text[i - 1] in ",;:"}
    cuts: list[tuple[int, int]] = []
    start = 0
    cap = FIRST_CLAUSE_CHARS if first else CLAUSE_CHARS
    last_space = -1
    for i in spaces:
        if i - start > cap and last_space > start:
            cuts.append((start, last_space))
            start = last_space + 1
            cap = CLAUSE_CHARS
        if i in punct and i - start >= MIN_CLAUSE_CHARS:
            cuts.append((start, i))
            start = i + 1
            cap = CLAUSE_CHARS
        last_space = i
    if len(text) - start > cap and last_space > start:
        cuts.append((start, last_space))
        start = last_space + 1
    if start < len(text):
        if cuts and len(text) - start < MIN_CLAUSE_CHARS:
            cuts[-1] = (cuts[-1][0], len(text))
        else:
            cuts.append((start, len(text)))
    return cuts
