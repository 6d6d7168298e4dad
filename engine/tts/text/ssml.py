"""SSML input (W3C SSML 1.1, the subset a bulletin needs) turned into what the normalizer reads.

Supported: ``speak``; ``p``/``s`` (and SSML 1.0's ``paragraph``/``sentence``); ``break`` (time, strength);
``sub alias``; ``say-as`` interpret-as cardinal, ordinal, characters, date, time, telephone (format and
detail kept); ``lang`` and ``xml:lang`` on any element (a Khmer passage inside a Vietnamese bulletin);
``prosody rate``; ``mark``. ``emphasis``, ``voice``, ``phoneme``, ``audio``, ``token``/``w`` keep their
text and are reported as ignored; ``desc``, ``meta``, ``metadata`` and ``lexicon`` are dropped with a
report. Any other element, a bad attribute value or malformed XML is an SSMLError naming line and column.

Parsed with the standard library's expat, hardened as defusedxml does it: a document type declaration,
entity declarations and external entities are refused (no billion laughs, no file or network reads), the
input is size-checked before any parsing, and nesting is bounded. The parser reads no file and no
network, keeps no state between calls, and leaves normalization to the caller: each Text says in which
language and how (say-as, sub, rate) its words are to be read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn
from xml.parsers import expat

from .normalize import resolve_language

MAX_SSML_CHARS = 400_000  # markup around the API's 100,000 characters of text; beyond it, refused unread
MAX_DEPTH = 32
MAX_BREAK_S = 10.0
MIN_RATE, MAX_RATE = 0.5, 2.0  # beyond these a loudspeaker announcement stops being intelligible
SSML_NS = "http://www.w3.org/2001/10/synthesis"
_XML_LANG = "http://www.w3.org/XML/1998/namespace lang"
_SEP = " "  # expat's namespace separator: "{uri} {local}"

SAY_AS = ("cardinal", "ordinal", "characters", "date", "time", "telephone")
_SAY_AS_ALIASES = {
    "number": "cardinal",
    "spell-out": "characters",
    "digits": "characters",
    "phone": "telephone",
}
_DATE_FORMATS = frozenset(["mdy", "dmy", "ymd", "md", "dm", "ym", "my", "d", "m", "y"])
_STRENGTH_S = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.8, "x-strong": 1.2}
_RATE_WORDS = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.2, "x-fast": 1.4}
_TIME = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|s)")
_PERCENT = re.compile(r"([+-]?)(\d+(?:\.\d+)?)%")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NEWLINE = re.compile(r"\r\n|\n|\r")  # expat counts lines as XML does: any of these ends one

# Elements whose text is read as it stands (reported: their effect is not rendered), and those dropped.
_PASS_THROUGH = frozenset({"emphasis", "voice", "phoneme", "audio", "token", "w"})
_DROPPED = frozenset({"desc", "meta", "metadata", "lexicon"})
_TEXT_ONLY = frozenset({"say-as", "sub"})


class SSMLError(ValueError):
    """Invalid or refused SSML; ``line`` and ``column`` count from 1 as an editor shows them."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"SSML line {line}, column {column}: {message}")
        self.line = line
        self.column = column


@dataclass(frozen=True)
class SayAs:
    interpret_as: str  # one of SAY_AS
    format: str | None = None  # date: "dmy", "mdy"...; telephone: a country code
    detail: str | None = None


@dataclass(frozen=True)
class Text:
    """Words to normalize. ``lang`` is the xml:lang in effect (a code resolve_language accepts) or None
    for the request's own; ``written`` is what a ``sub`` replaced (for subtitles), else None. ``line``
    and ``column`` (from 1) and ``offset`` (code points from 0) say where the run starts in the SSML, so
    progress and subtitles can point into what the client sent (an entity such as &amp; inside a run
    makes the run's own characters shift against the source after it)."""

    text: str
    lang: str | None
    say_as: SayAs | None = None
    rate: float | None = None
    written: str | None = None
    line: int = 1
    column: int = 1
    offset: int = 0


@dataclass(frozen=True)
class Break:
    seconds: float
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Boundary:
    """Where a ``p`` or ``s`` opens or closes: the text on either side belongs to different sentences.
    Consecutive boundaries mean one."""

    kind: str  # "paragraph" or "sentence"


@dataclass(frozen=True)
class Mark:
    name: str


Item = Text | Break | Boundary | Mark


@dataclass(frozen=True)
class Notice:
    """Something in the SSML that was accepted but not rendered (an emphasis, a voice change...)."""

    message: str
    line: int
    column: int


@dataclass(frozen=True)
class Document:
    items: tuple[Item, ...]
    lang: str | None  # the speak element's xml:lang, resolved; None when it has none
    notices: tuple[Notice, ...] = ()

    def text(self) -> str:
        """All the words in order, one space between runs: what plain-text consumers can read."""
        return " ".join(i.text.strip() for i in self.items if isinstance(i, Text) and i.text.strip())


@dataclass
class _Frame:
    name: str
    lang: str | None
    rate: float | None
    say_as: SayAs | None = None
    alias: str | None = None
    dropped: bool = False
    text: list[str] = field(default_factory=list)  # the content of a text-only element
    line: int = 1
    column: int = 1


class _Parser:
    def __init__(self) -> None:
        self.p = expat.ParserCreate("utf-8", _SEP)
        self.p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.p.StartDoctypeDeclHandler = self._doctype
        self.p.EntityDeclHandler = self._entity
        self.p.UnparsedEntityDeclHandler = self._entity
        self.p.ExternalEntityRefHandler = self._external
        self.p.StartElementHandler = self._start
        self.p.EndElementHandler = self._end
        self.p.CharacterDataHandler = self._chars
        self.stack: list[_Frame] = []
        self.items: list[Item] = []
        self.notices: list[Notice] = []
        self.lang: str | None = None
        self.seen_root = False
        self.line_starts: list[int] = [0]

    def fail(self, message: str) -> NoReturn:
        raise SSMLError(message, self.p.CurrentLineNumber, self.p.CurrentColumnNumber + 1)

    def _doctype(self, *_: object) -> None:
        self.fail("a document type declaration (DOCTYPE) is not accepted: it can define entities")

    def _entity(self, *_: object) -> None:
        self.fail("entity declarations are not accepted")

    def _external(self, *_: object) -> int:
        self.fail("external entities are not accepted")

    def offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column - 1

    def parse(self, ssml: str) -> Document:
        self.line_starts += [m.end() for m in _NEWLINE.finditer(ssml)]
        try:
            self.p.Parse(ssml, True)
        except expat.ExpatError as e:
            message = expat.ErrorString(e.code) if e.code is not None else str(e)
            raise SSMLError(message, e.lineno, e.offset + 1) from None
        return Document(tuple(self.items), self.lang, tuple(self.notices))

    def _notice(self, message: str) -> None:
        self.notices.append(Notice(message, self.p.CurrentLineNumber, self.p.CurrentColumnNumber + 1))

    def _start(self, qname: str, attrs: dict[str, str]) -> None:
        ns, _, name = qname.rpartition(_SEP)
        if ns not in ("", SSML_NS):
            self.fail(f"element {name!r} is not in the SSML namespace ({ns})")
        if not self.stack:
            if name != "speak" or self.seen_root:
                self.fail(f"the document must be one <speak> element, not <{name}>")
            self.seen_root = True
        elif name == "speak":
            self.fail("<speak> cannot be nested")
        if len(self.stack) >= MAX_DEPTH:
            self.fail(f"elements nested deeper than {MAX_DEPTH}")
        parent = self.stack[-1] if self.stack else _Frame("", None, None)
        if parent.name in _TEXT_ONLY:
            self.fail(f"<{parent.name}> may hold only text, not <{name}>")
        frame = _Frame(name, parent.lang, parent.rate, parent.say_as, dropped=parent.dropped)
        frame.line, frame.column = self.p.CurrentLineNumber, self.p.CurrentColumnNumber + 1
        lang = attrs.get(_XML_LANG) or (attrs.get("lang") if name in ("lang", "voice") else None)
        if lang is not None:
            frame.lang = self._language(lang)
        handler = _ELEMENTS.get(name)
        if handler is None:
            self.fail(f"unknown element <{name}>")
        handler(self, frame, attrs)
        if name == "speak":
            self.lang = frame.lang
        self.stack.append(frame)

    def _end(self, qname: str) -> None:
        frame = self.stack.pop()
        if frame.name in ("p", "s", "paragraph", "sentence") and not frame.dropped:
            self.items.append(Boundary("paragraph" if frame.name in ("p", "paragraph") else "sentence"))
        if frame.name in _TEXT_ONLY and not frame.dropped:
            content = "".join(frame.text)
            at = (frame.line, frame.column, self.offset(frame.line, frame.column))
            if frame.name == "sub":
                item = Text(frame.alias or "", frame.lang, None, frame.rate, content, *at)
            else:
                item = Text(content, frame.lang, frame.say_as, frame.rate, None, *at)
            self.items.append(item)

    def _chars(self, data: str) -> None:
        if not self.stack:
            return
        frame = self.stack[-1]
        if frame.dropped:
            return
        if frame.name in _TEXT_ONLY:
            frame.text.append(data)
            return
        last = self.items[-1] if self.items else None
        if isinstance(last, Text) and last.say_as is None and last.written is None and _same(last, frame):
            self.items[-1] = Text(
                last.text + data, last.lang, None, last.rate, None, last.line, last.column, last.offset
            )
            return
        line, column = self.p.CurrentLineNumber, self.p.CurrentColumnNumber + 1
        self.items.append(
            Text(data, frame.lang, None, frame.rate, None, line, column, self.offset(line, column))
        )

    def _language(self, value: str) -> str:
        try:
            return resolve_language(value)
        except ValueError as e:
            self.fail(str(e).removeprefix("lang: "))


def _same(last: Text, frame: _Frame) -> bool:
    return last.lang == frame.lang and last.rate == frame.rate


def _speak(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    version = attrs.get("version")
    if version is not None and version not in ("1.0", "1.1"):
        parser.fail(f"version {version!r}: only SSML 1.0 and 1.1 are read")


def _block(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    if not frame.dropped:
        parser.items.append(Boundary("paragraph" if frame.name in ("p", "paragraph") else "sentence"))


def _break(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    time, strength = attrs.get("time"), attrs.get("strength")
    if time is not None:
        m = _TIME.fullmatch(time.strip())
        if m is None:
            parser.fail(f'break time {time!r}: expected a duration such as "500ms" or "2s"')
        seconds = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        if seconds > MAX_BREAK_S:
            parser.fail(f"break time {time!r}: at most {MAX_BREAK_S:g} s")
    elif strength is not None:
        if strength not in _STRENGTH_S:
            parser.fail(f"break strength {strength!r}: expected one of {', '.join(_STRENGTH_S)}")
        seconds = _STRENGTH_S[strength]
    else:
        seconds = _STRENGTH_S["medium"]
    if not frame.dropped:
        parser.items.append(Break(seconds, frame.line, frame.column))
    frame.dropped = True  # a break holds no text


def _sub(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    alias = attrs.get("alias")
    if not alias or not alias.strip():
        parser.fail("<sub> needs a non-empty alias")
    frame.alias = alias


def _say_as(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    kind = attrs.get("interpret-as")
    if not kind:
        parser.fail("<say-as> needs interpret-as")
    kind = _SAY_AS_ALIASES.get(kind, kind)
    if kind not in SAY_AS:
        parser.fail(f"say-as interpret-as {kind!r}: supported are {', '.join(SAY_AS)}")
    fmt = attrs.get("format")
    if kind == "date" and fmt is not None and fmt not in _DATE_FORMATS:
        parser.fail(f"say-as date format {fmt!r}: expected one of {', '.join(sorted(_DATE_FORMATS))}")
    frame.say_as = SayAs(kind, fmt, attrs.get("detail"))


def _prosody(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    rate = attrs.get("rate")
    if rate is not None:
        frame.rate = _rate(parser, rate.strip(), frame.rate or 1.0)
    ignored = sorted(a for a in attrs if a != "rate")
    if ignored:
        parser._notice(f"prosody {', '.join(ignored)} not rendered; only rate is")


def _rate(parser: _Parser, value: str, current: float) -> float:
    if value in _RATE_WORDS:
        rate = _RATE_WORDS[value]
    elif m := _PERCENT.fullmatch(value):
        amount = float(m.group(2)) / 100
        rate = current * (1 + amount if m.group(1) == "+" else 1 - amount if m.group(1) == "-" else amount)
    elif _NUMBER.fullmatch(value):
        rate = float(value)
    else:
        parser.fail(f'prosody rate {value!r}: expected x-slow..x-fast, "80%", "+10%" or a number')
    if not MIN_RATE <= rate <= MAX_RATE:
        parser.fail(f"prosody rate {value!r} is {rate:.2f}x; allowed {MIN_RATE:g}x to {MAX_RATE:g}x")
    return rate


def _mark(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    name = attrs.get("name")
    if not name:
        parser.fail("<mark> needs a name")
    if not frame.dropped:
        parser.items.append(Mark(name))
    frame.dropped = True


def _plain(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    """``lang`` (xml:lang already applied) and the elements whose text is read as it stands."""
    if frame.name in _PASS_THROUGH:
        parser._notice(f"<{frame.name}> is not rendered; its text is read as it stands")


def _dropped(parser: _Parser, frame: _Frame, attrs: dict[str, str]) -> None:
    parser._notice(f"<{frame.name}> and its content are not read")
    frame.dropped = True


_ELEMENTS: dict[str, Callable[[_Parser, _Frame, dict[str, str]], None]] = {
    "speak": _speak,
    "p": _block,
    "s": _block,
    "paragraph": _block,
    "sentence": _block,
    "break": _break,
    "sub": _sub,
    "say-as": _say_as,
    "prosody": _prosody,
    "mark": _mark,
    "lang": _plain,
    **{name: _plain for name in _PASS_THROUGH},
    **{name: _dropped for name in _DROPPED},
}


def looks_like_ssml(text: str) -> bool:
    """Whether a request's text is SSML (starts with <speak or an XML declaration), not plain text."""
    head = text.lstrip()[:64]
    return head.startswith("<speak") or (head.startswith("<?xml") and "<speak" in text[:512])


def parse(ssml: str) -> Document:
    """The SSML document as text runs, breaks, sentence boundaries and marks, in order."""
    if not isinstance(ssml, str):
        raise TypeError(f"ssml: expected str, got {type(ssml).__name__}")
    if len(ssml) > MAX_SSML_CHARS:
        raise SSMLError(f"{len(ssml):,} characters; at most {MAX_SSML_CHARS:,} are read", 1, 1)
    return _Parser().parse(ssml)
