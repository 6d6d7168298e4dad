"""A segment of text → the pieces the synthesizer speaks one by one, planned once.

A piece is a sentence, or a clause of the first sentence when that one is long, so the first audio comes
early; the first piece is cut once more after its first few words (~1 s of speech). Each piece knows
where it came from in the source, which sentence it belongs to (progress and resume count sentences),
and the pause that follows it. Airing, the Synthesis API and ``loa say`` all speak this one plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .model import Sentence, Span, TextWarning
from .normalize import ExtraLexicon, resolve_language, sentences
from .segment import FIRST_CLAUSE_CHARS

FIRST_PIECE_CHARS = 12  # the first clause is cut at the first word boundary past this (~1 s of speech)
_MIN_REST_CHARS = 16  # unless what is left of the clause would be shorter than this
CLAUSE_PAUSE_S = 0.12  # after a clause that ends in , ; : (a cut between two words gets none)
# Where a cut is a word boundary: English spaces separate words; Vietnamese spaces separate syllables,
# so only before a function word that does not end a compound (not "tại": hiện tại; not "khi": sau khi).
_PHRASE_STARTS: dict[str, frozenset[str] | None] = {
    "en": None,  # any space
    "vi": frozenset({"và", "các", "của", "đã", "sẽ", "đang", "để", "nhưng", "hoặc", "nếu", "cho"}),
}


@dataclass(frozen=True)
class Piece:
    text: str  # spoken form
    source_span: Span  # where in the segment's text it came from
    sentence_index: int  # of the segment's sentences
    pause_s: float  # silence after it, unless it is the last piece spoken
    warnings: tuple[str, ...] = ()  # the front-end's, on the first piece of their sentence
    notes: tuple[TextWarning, ...] = ()  # the same warnings whole (spans, readings), for API replies
    # SSML only: the language spoken (None: the request's), the prosody rate (a factor on the speed),
    # and the <mark> names reached at the start of the piece's words and at their end.
    language: str | None = None
    rate: float | None = None
    marks: tuple[str, ...] = ()
    end_marks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    pieces: tuple[Piece, ...]
    sentence_count: int  # sentences in the whole text, as progress counts them


def plan_pieces(
    text: str,
    language: str,
    dialect: str | None,
    sentence_pause_s: float,
    start_sentence: int = 0,
    *,
    lexicon: ExtraLexicon | None = None,
) -> Plan:
    """The pieces of ``text`` from sentence ``start_sentence`` on (where a resumed airing starts), the
    first of them cut short. ``lexicon``: a deployment's own readings (normalize's). ValueError when the
    text has nothing speakable."""
    found = sentences(text, language, dialect, lexicon)
    speakable = [(i, s) for i, s in enumerate(found) if s.text.strip()]
    if not speakable:
        raise ValueError("text: nothing speakable in it")
    code = resolve_language(language)
    pieces: list[Piece] = []
    for index, sentence in speakable:
        if index < start_sentence:
            continue
        pieces += sentence_pieces(sentence, index, text, code, sentence_pause_s, first=not pieces)
    return Plan(tuple(pieces), len(found))


def sentence_pieces(
    sentence: Sentence, index: int, source: str, language: str, pause_s: float, first: bool
) -> list[Piece]:
    """One sentence as pieces: clause by clause and its first words cut off when it is the ``first``
    spoken; ``pause_s`` after its last piece. Spans are into ``source``, the text it was read from."""
    parts = _parts(sentence, first)
    if first:
        parts[:1] = _cut_first(*parts[0], source, language)
    warnings = tuple(str(w.message) for w in sentence.warnings)
    out: list[Piece] = []
    for i, (spoken, span) in enumerate(parts):
        if i == len(parts) - 1:
            pause = pause_s
        else:
            pause = CLAUSE_PAUSE_S if spoken.rstrip().endswith((",", ";", ":")) else 0.0
        first_of_sentence = i == 0
        out.append(
            Piece(
                spoken,
                span,
                index,
                pause,
                warnings if first_of_sentence else (),
                sentence.warnings if first_of_sentence else (),
            )
        )
    return out


def _parts(sentence: Sentence, first: bool) -> list[tuple[str, Span]]:
    """A long first sentence clause by clause (its clauses were cut short for this); others whole."""
    if first and len(sentence.text) > FIRST_CLAUSE_CHARS and len(sentence.clauses) > 1:
        return [(c.text, c.source_span) for c in sentence.clauses if c.text.strip()]
    return [(sentence.text, sentence.source_span)]


def _cut_first(text: str, span: Span, source: str, language: str) -> list[tuple[str, Span]]:
    """The first clause as two pieces: its first words (at least FIRST_PIECE_CHARS), then the rest,
    spoken back to back. Only at a word boundary that is also one in the source (the two words around it
    appear there exactly once, side by side), so never inside a word or a number's reading."""
    starts = _PHRASE_STARTS.get(language, frozenset())
    if starts is not None and not starts:
        return [(text, span)]
    source_text = source[span.start : span.end]
    for cut in (m.start() for m in re.finditer(" ", text)):
        head, rest = text[:cut].rstrip(), text[cut + 1 :].lstrip()
        if len(head) < FIRST_PIECE_CHARS:
            continue
        if len(rest) < _MIN_REST_CHARS:
            break
        if not head[-1].isalnum() or (starts is not None and rest.split()[0].lower() not in starts):
            continue
        left, right = head.split()[-1], rest.split()[0]
        found = list(re.finditer(rf"(?<!\w){re.escape(left)}(\s+){re.escape(right)}(?!\w)", source_text))
        if len(found) != 1:
            continue
        gap = found[0].span(1)
        return [
            (head, replace(span, end=span.start + gap[0])),
            (rest, replace(span, start=span.start + gap[1])),
        ]
    return [(text, span)]
