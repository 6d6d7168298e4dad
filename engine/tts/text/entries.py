"""A deployment lexicon entry checked before it is stored: one written word, the words it is read as.

An entry is useful only if the normalizer reads it: the written form must be one word as the
Vietnamese rules cut words (an abbreviation such as "HTXTP", "Cty", "KCN2"; a number or a phrase never
reaches the lexicon), and the spoken form must be words a voice can say (numbers written in words, no
markup). The check runs the normalizer on the written form with the entry in place, so what is accepted
is proved to change the reading. Vietnamese and Khmer read a lexicon (Khmer: a form in Khmer script,
such as a dotted abbreviation "ស.ស.យ.ក", read in Khmer words where it stands apart); other languages are
refused rather than stored and silently ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .normalize import normalize, resolve_language

MAX_WRITTEN_CHARS = 64
MAX_SPOKEN_CHARS = 300
MAX_NOTE_CHARS = 500
LANGUAGES = ("vi", "km")
# Khmer letters, vowel signs and marks (U+1780..U+17D3, U+17DD): no Khmer digits, no ។ ៕ punctuation
_KHMER = "\u1780-\u17d3\u17dd"
_KM_WRITTEN = re.compile(rf"[{_KHMER}.]*[{_KHMER}][{_KHMER}.]*")
_KM_SPOKEN = re.compile(rf"[{_KHMER}]+(?: [{_KHMER}]+)*")
_PROBE = "loaprobe"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*(?:,?\s+[^\W\d_]+(?:['’-][^\W\d_]+)*)*")


@dataclass(frozen=True)
class Entry:
    written: str
    spoken: str
    language: str = "vi"
    note: str = ""


def lexicon_for(
    read: Callable[[str], Mapping[str, Any]], language: str, ssml: bool
) -> Mapping[str, Any] | None:
    """The deployment entries a text reads, from ``read(language)``: its own language's; for an SSML
    document, every language's (its passages may switch language), merged: a Khmer written form is
    Khmer script and a Vietnamese one never is, so they cannot collide, and each passage takes its own
    language's (:func:`entries_of`). None when there are none."""
    merged: dict[str, Any] = {}
    for lang in LANGUAGES if ssml else (language,):
        merged.update(read(lang))
    return merged or None


def entries_of(lexicon: Mapping[str, Any] | None, language: str) -> Mapping[str, Any] | None:
    """The entries of ``lexicon`` written in ``language``'s script (km: Khmer script; vi: the rest)."""
    if not lexicon or language not in LANGUAGES:
        return None
    khmer = language == "km"
    mine = {w: r for w, r in lexicon.items() if bool(_KM_WRITTEN.fullmatch(w)) == khmer}
    return mine or None


def check_entry(entry: Entry, field: str = "entry") -> Entry:
    """The entry cleaned (NFC, trimmed, language code resolved); ValueError "field.x: why" otherwise."""
    language = check_language(entry.language, f"{field}.language")
    written = check_written(entry.written, f"{field}.written")
    spoken = unicodedata.normalize("NFC", " ".join(entry.spoken.split()))
    if not spoken:
        raise ValueError(f"{field}.spoken: empty")
    if len(spoken) > MAX_SPOKEN_CHARS:
        raise ValueError(f"{field}.spoken: {len(spoken)} characters, at most {MAX_SPOKEN_CHARS}")
    if language == "km":
        if _KM_WRITTEN.fullmatch(written) is None:
            raise ValueError(
                f"{field}.written: {written!r} must be in Khmer script (letters and dots, no digits), as "
                "Khmer bulletins write it"
            )
        if _KM_SPOKEN.fullmatch(spoken) is None:
            raise ValueError(
                f"{field}.spoken: {spoken!r} must be Khmer words only (Khmer letters and spaces); write "
                "numbers in words, as they are said"
            )
    elif _SPOKEN.fullmatch(spoken) is None:
        raise ValueError(
            f"{field}.spoken: {spoken!r} must be words only (letters, spaces, - and '); write numbers "
            "in words, as they are said"
        )
    note = entry.note.strip()
    if len(note) > MAX_NOTE_CHARS or _CONTROL.search(note.replace("\t", " ")):
        raise ValueError(f"{field}.note: at most {MAX_NOTE_CHARS} characters, no control characters")
    # a probe reading, not the entry's own: "2025" -> "hai" would be found inside "hai nghìn..."
    read = normalize(written, language, lexicon={written: _PROBE}).text
    if _PROBE not in read:
        rules = normalize(written, language).text
        raise ValueError(
            f"{field}.written: {written!r} is not read as one word (the rules read it as {rules!r}); an "
            "entry is one written word such as an abbreviation, not a number or a phrase"
        )
    return Entry(written, spoken, language, note)


def check_language(language: str, field: str = "language") -> str:
    try:
        code = resolve_language(language or "vi")
    except ValueError:
        raise ValueError(f"{field}: unsupported language {language!r}") from None
    if code not in LANGUAGES:
        raise ValueError(
            f"{field}: only Vietnamese (vi) and Khmer (km) read a deployment lexicon, not {language!r}"
        )
    return code


def check_written(written: str, field: str = "written") -> str:
    text = unicodedata.normalize("NFC", written.strip())
    if not text:
        raise ValueError(f"{field}: empty")
    if len(text) > MAX_WRITTEN_CHARS:
        raise ValueError(f"{field}: {len(text)} characters, at most {MAX_WRITTEN_CHARS}")
    if any(c.isspace() for c in text) or _CONTROL.search(text):
        raise ValueError(f"{field}: {text!r} must be one word, without spaces or control characters")
    return text
