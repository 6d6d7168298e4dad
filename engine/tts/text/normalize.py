"""The front-end's entry points: which language, which dialect, and the sentences for the synthesizer.

Vietnamese and Khmer get full normalization. The other languages a voice may speak (English, Cantonese,
and the MMS ethnic-minority voices: Tai Dam blt, Bahnar bdq, Mnong cmo, Bru bru) get whitespace clean-up
and sentence segmentation only: their numbers are left as written, because no reading rules exist here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import numbers_vi
from .builder import Builder
from .compose import compose
from .model import Clause, Normalized, Sentence
from .rules_km import normalize_km
from .rules_vi import normalize_vi
from .segment import clause_cuts, sentence_spans
from .tables import Lexicon, abbreviations, layered

FULL_LANGUAGES = ("vi", "km")
SUPPORTED_LANGUAGES = ("vi", "km", "en", "yue", "blt", "bdq", "cmo", "bru")
_ALIASES = {"vie": "vi", "khm": "km", "eng": "en", "zh-yue": "yue"}
_SPACE = re.compile(r"\s+")
# A deployment's own abbreviations (a province's, a group's): written form -> reading ("always"), or
# written form -> {when: reading} with the rules of data/abbreviations_vi.tsv. Vietnamese only.
ExtraLexicon = Mapping[str, str | Mapping[str, str]]


def resolve_language(lang: str) -> str:
    """ISO 639-1 or 639-3, any case, with or without a region ("vi-VN")."""
    code = (lang or "").strip().lower().replace("_", "-")
    code = _ALIASES.get(code, code)
    code = _ALIASES.get(code.split("-")[0], code.split("-")[0])
    if code not in SUPPORTED_LANGUAGES:
        raise ValueError(f"lang: unsupported language {lang!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}")
    return code


def resolve_dialect(lang: str, dialect: str | None) -> numbers_vi.Dialect | None:
    name = (dialect or "").strip().lower()
    if lang != "vi":
        if name:
            raise ValueError(f"dialect: {dialect!r} given, but only Vietnamese (vi) has dialects")
        return None
    if not name:
        name = numbers_vi.DEFAULT_DIALECT
    if name not in numbers_vi.DIALECTS:
        raise ValueError(f"dialect: {dialect!r} is not one of {', '.join(numbers_vi.DIALECTS)}")
    return numbers_vi.DIALECTS[name]


def _whitespace_only(text: str, start: int, end: int) -> Normalized:
    b = Builder(text)
    pos = start
    for m in _SPACE.finditer(text, start, end):
        b.copy(pos, m.start())
        b.space(m.start(), m.end())
        pos = m.end()
    b.copy(pos, end)
    return b.build()


def _lexicon(lang: str, extra: ExtraLexicon | None) -> Lexicon | None:
    """The abbreviation table with the caller's entries on top; None (the built-in table) without any.
    Khmer's entries are plain readings (written -> spoken), kept apart: rules_km reads them."""
    if not extra:
        return None
    if lang == "km":
        if not all(isinstance(v, str) and v for v in extra.values()):
            raise ValueError("lexicon: a Khmer entry is a written form and its reading, without 'when' rules")
        return {written: {"always": str(spoken)} for written, spoken in extra.items()}
    if lang != "vi":
        raise ValueError(f"lexicon: only Vietnamese (vi) and Khmer (km) read a lexicon, not {lang!r}")
    return layered(abbreviations("abbreviations_vi"), extra)


def _normalize_range(
    text: str, lang: str, d: numbers_vi.Dialect | None, start: int, end: int, table: Lexicon | None = None
) -> Normalized:
    if lang == "vi":
        assert d is not None
        return normalize_vi(text, d, start, end, table)
    if lang == "km":
        own = {written: rows["always"] for written, rows in (table or {}).items()}
        return normalize_km(text, start, end, own)
    return _whitespace_only(text, start, end)


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")


def normalize(
    text: str, lang: str = "vi", dialect: str | None = None, lexicon: ExtraLexicon | None = None
) -> Normalized:
    """The whole text as one speakable string, with its map back to the source and its warnings.

    ``lexicon``: a deployment's own abbreviations, read before the built-in table (see ExtraLexicon)."""
    _check_text(text)
    code = resolve_language(lang)
    d = resolve_dialect(code, dialect)
    table = _lexicon(code, lexicon)
    nfc = compose(text)
    return nfc.normalized(_normalize_range(nfc.text, code, d, 0, len(nfc.text), table))


def sentences(
    text: str, lang: str = "vi", dialect: str | None = None, lexicon: ExtraLexicon | None = None
) -> list[Sentence]:
    """Sentences in order, each cut into clauses the synthesizer can start on one by one."""
    _check_text(text)
    code = resolve_language(lang)
    d = resolve_dialect(code, dialect)
    table = _lexicon(code, lexicon)
    nfc = compose(text)
    out: list[Sentence] = []
    for span in sentence_spans(nfc.text):
        norm = nfc.normalized(_normalize_range(nfc.text, code, d, span.start, span.end, table))
        source = nfc.span(span.start, span.end)
        if not norm.text.strip(" .,;:!?…។៕"):
            if norm.warnings:
                out.append(Sentence(norm.text, source, (), norm.warnings, norm.lexicon))
            continue
        clauses = []
        for a, z in clause_cuts(norm, first=not out):
            src = norm.source_span(a, z)
            clauses.append(Clause(norm.text[a:z].strip(), src))
        out.append(Sentence(norm.text, source, tuple(clauses), norm.warnings, norm.lexicon))
    return out
