"""An SSML document → the one piece plan (pieces.py), each run read in its own language.

The document's runs are gathered into blocks: text in one language at one prosody rate, up to a
``break``, a ``p``/``s`` boundary or a change of language or rate. Each block is normalized and cut into
sentences once, by the front-end of its language (a ``lang`` passage in Khmer is read by the Khmer rules
and spoken by a Khmer voice), with the deployment's lexicon on Vietnamese blocks. ``say-as`` runs are
rendered to words first (say_as.py) and ``sub`` runs are their alias, so the normalizer reads the
author's explicit instruction as given. Sentences are counted over the whole document, as progress and
resume count them for plain text.

Pauses: a ``break`` replaces the pause after the words before it (consecutive breaks add up, to at most
ssml.MAX_BREAK_S); a boundary or the end of a sentence gives the request's sentence pause; a language
or rate change in mid-sentence gives the pause its punctuation asks for (none between two words). A
break before the first words is not rendered (there is no piece before it to carry the silence).

Marks: a ``<mark>`` is reported on the piece whose words it stands in or before (``Piece.marks``), or
after the words of the piece it follows when a break or the end comes next (``Piece.end_marks``).
Every span (pieces, sentences, warnings) counts code points of the SSML as the client sent it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from . import say_as
from .entries import entries_of
from .model import Sentence, Span, TextWarning
from .normalize import ExtraLexicon, resolve_language, sentences
from .pieces import CLAUSE_PAUSE_S, Piece, Plan, sentence_pieces
from .ssml import MAX_BREAK_S, Boundary, Break, Document, Mark, Notice, Text, parse

_SENTENCE_END = (".", "!", "?", "…", "។", "៕")
_CLAUSE_END = (",", ";", ":")


@dataclass(frozen=True)
class _Part:
    """Block text [start, end) came from SSML [src_start, src_end); character by character if exact."""

    start: int
    end: int
    src_start: int
    src_end: int
    exact: bool


@dataclass
class _Block:
    lang: str
    rate: float | None
    text: str = ""
    parts: list[_Part] = field(default_factory=list)
    marks: list[tuple[int, str]] = field(default_factory=list)  # (block position, name)
    after: str = "end"  # "break", "boundary", "join" (language or rate change), "end"
    break_s: float = 0.0
    space_next: bool = False  # a rendered run was just added: the next text starts a new word

    def add(self, text: str, src_start: int, src_end: int, exact: bool) -> None:
        glued = self.text and not self.text[-1].isspace() and not text[:1].isspace()
        if glued and (not exact or self.space_next):
            self._append(" ", src_start, src_start, False)
        self._append(text, src_start, src_end, exact)
        self.space_next = not exact

    def _append(self, text: str, src_start: int, src_end: int, exact: bool) -> None:
        start = len(self.text)
        self.text += text
        self.parts.append(_Part(start, len(self.text), src_start, src_end, exact))

    def source(self, pos: int, end: bool) -> int:
        """The SSML offset of block position ``pos`` (an end position maps to the end of its part)."""
        for part in self.parts:
            inside = part.start < pos <= part.end if end else part.start <= pos < part.end
            if inside:
                if part.exact:
                    return min(part.src_start + pos - part.start, part.src_end)
                return part.src_end if end else part.src_start
        return self.parts[-1].src_end if self.parts else 0

    def span(self, span: Span) -> Span:
        if span.start >= span.end:
            at = self.source(span.start, end=False)
            return Span(at, at)
        start = self.source(span.start, end=False)
        return Span(start, max(start, self.source(span.end, end=True)))


@dataclass(frozen=True)
class ReadSentence:
    """A sentence of the document: spans into the SSML, the language it is read in, its block's rate."""

    sentence: Sentence
    language: str
    rate: float | None


@dataclass(frozen=True)
class Reading:
    sentences: tuple[ReadSentence, ...]  # all of them, unspeakable ones included (they count)
    plan: Plan
    notices: tuple[Notice, ...]


def plan_ssml(
    ssml: str | Document,
    language: str,
    dialect: str | None,
    sentence_pause_s: float,
    start_sentence: int = 0,
    *,
    lexicon: ExtraLexicon | None = None,
) -> Plan:
    """The pieces of an SSML document from sentence ``start_sentence`` on. ``language`` is the request's
    (for runs without xml:lang); ``dialect`` and ``lexicon`` (Vietnamese) apply to runs in Vietnamese.
    SSMLError (a ValueError) for bad SSML; ValueError when nothing in it is speakable."""
    return read_ssml(ssml, language, dialect, sentence_pause_s, start_sentence, lexicon=lexicon).plan


def read_ssml(
    ssml: str | Document,
    language: str,
    dialect: str | None,
    sentence_pause_s: float,
    start_sentence: int = 0,
    *,
    lexicon: ExtraLexicon | None = None,
) -> Reading:
    """The document read once: its sentences (for a preview) and its piece plan (for speech)."""
    doc = parse(ssml) if isinstance(ssml, str) else ssml
    source = ssml if isinstance(ssml, str) else ""
    code = resolve_language(language)
    blocks, trailing = _blocks(doc, code, dialect, source)
    read: list[ReadSentence] = []
    pieces: list[Piece] = []
    pending: list[str] = []  # marks of blocks that had nothing to say, for the next piece
    for block in blocks:
        same = block.lang == code
        found = sentences(
            block.text,
            block.lang,
            dialect if same else None,
            entries_of(lexicon, block.lang),  # each passage its own language's entries
        )
        speakable = [i for i, s in enumerate(found) if s.text.strip()]
        block_pieces: list[Piece] = []
        for i, sentence in enumerate(found):
            index = len(read)
            read.append(ReadSentence(_mapped(sentence, block, source), block.lang, block.rate))
            if i not in speakable or index < start_sentence:
                continue
            pause = _pause(block, sentence, sentence_pause_s) if i == speakable[-1] else sentence_pause_s
            first = not pieces and not block_pieces
            block_pieces += sentence_pieces(sentence, index, block.text, block.lang, pause, first)
        if not block_pieces:
            pending += [name for _, name in block.marks]
            continue
        block_pieces = _with_marks(block_pieces, block, pending)
        pending = []
        language_of = None if same else block.lang
        pieces += [
            dataclasses.replace(
                p,
                source_span=block.span(p.source_span),
                notes=tuple(_warning(w, block, source) for w in p.notes),
                language=language_of,
                rate=block.rate,
            )
            for p in block_pieces
        ]
    if not any(s.sentence.text.strip() for s in read):
        raise ValueError("text: nothing speakable in it")
    if pieces and (pending or trailing):
        last = pieces[-1]
        pieces[-1] = dataclasses.replace(last, end_marks=(*last.end_marks, *pending, *trailing))
    return Reading(tuple(read), Plan(tuple(pieces), len(read)), doc.notices)


def _blocks(doc: Document, code: str, dialect: str | None, source: str) -> tuple[list[_Block], list[str]]:
    """The document's blocks in order, and the marks after its last words."""
    blocks: list[_Block] = []
    current: _Block | None = None
    marks: list[str] = []  # seen while no block was open
    for item in doc.items:
        if isinstance(item, Text):
            lang, rate = item.lang or code, item.rate
            if not item.text.strip():
                if current is not None and (current.lang, current.rate) == (lang, rate):
                    current.add(item.text, item.offset, item.offset + len(item.text), True)
                continue
            if current is not None and (current.lang, current.rate) != (lang, rate):
                current.after = "join"
                current = None
            if current is None:
                current = _Block(lang, rate)
                current.marks = [(0, name) for name in marks]
                marks = []
                blocks.append(current)
            _add_run(current, item, source, dialect if lang == code else None)
        elif isinstance(item, Break):
            if current is not None:
                current.after, current.break_s, current = "break", item.seconds, None
            elif blocks and blocks[-1].after in ("break", "boundary"):
                last = blocks[-1]
                total = (last.break_s if last.after == "break" else 0.0) + item.seconds
                last.after, last.break_s = "break", min(total, MAX_BREAK_S)
        elif isinstance(item, Boundary):
            if current is not None:
                current.after, current = "boundary", None
        elif isinstance(item, Mark):
            if current is not None:
                current.marks.append((len(current.text), item.name))
            else:
                marks.append(item.name)
    return blocks, marks


def _add_run(block: _Block, run: Text, source: str, dialect: str | None) -> None:
    if run.say_as is None and run.written is None:
        block.add(run.text, run.offset, run.offset + len(run.text), True)
        return
    # say-as and sub: the words stand for the element's content, which starts after its tag
    content = (run.written if run.written is not None else run.text) or ""
    start = source.find(">", run.offset) + 1 if source else run.offset
    start = start or run.offset
    words = say_as.render(run, block.lang, dialect) if run.say_as is not None else run.text
    block.add(words.strip() or content, start, start + len(content), False)


def _pause(block: _Block, sentence: Sentence, sentence_pause_s: float) -> float:
    """The pause after a block's last sentence, by what ends the block."""
    if block.after == "break":
        return block.break_s
    if block.after != "join":
        return sentence_pause_s
    ending = sentence.text.rstrip()
    if ending.endswith(_SENTENCE_END):
        return sentence_pause_s
    return CLAUSE_PAUSE_S if ending.endswith(_CLAUSE_END) else 0.0


def _with_marks(pieces: list[Piece], block: _Block, pending: list[str]) -> list[Piece]:
    """Each mark on the piece whose words it stands in or before (block positions), or after the last
    piece's words when it comes after all of them."""
    before: dict[int, list[str]] = {0: list(pending)}
    after: list[str] = []
    for pos, name in block.marks:
        index = next((i for i, p in enumerate(pieces) if p.source_span.end > pos), None)
        if index is None:
            after.append(name)
        else:
            before.setdefault(index, []).append(name)
    out = [dataclasses.replace(p, marks=tuple(before.get(i, ()))) for i, p in enumerate(pieces)]
    if after:
        out[-1] = dataclasses.replace(out[-1], end_marks=tuple(after))
    return out


def _mapped(sentence: Sentence, block: _Block, source: str) -> Sentence:
    return Sentence(
        sentence.text,
        block.span(sentence.source_span),
        tuple(dataclasses.replace(c, source_span=block.span(c.source_span)) for c in sentence.clauses),
        tuple(_warning(w, block, source) for w in sentence.warnings),
        tuple(dataclasses.replace(u, source_span=block.span(u.source_span)) for u in sentence.lexicon),
    )


def _warning(w: TextWarning, block: _Block, source: str) -> TextWarning:
    span = block.span(w.source_span)
    return dataclasses.replace(
        w, source_span=span, source_text=source[span.start : span.end] or w.source_text
    )
