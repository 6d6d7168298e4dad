"""Vietnamese bulletin text to speakable words, in one left-to-right scan.

One regular expression finds the next token that needs reading (an address, a document code, a date, a
time, a number, a word); the text between tokens is whitespace, punctuation and symbols. Each token kind
has a handler (numeric_vi, words_vi) that looks at the words around it where the reading depends on them
("Chương IV", "ngày 2/9", "gọi 0913..."), writes the reading, and says how far it consumed. Anything
without a reading is spelled or named and reported: nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import numeric_vi as num
from .builder import Builder
from .model import Normalized
from .numbers_vi import Dialect
from .scan_vi import NUMERIC, Scan, line_start, word_set
from .tables import Lexicon, mapping
from .words_vi import word

# Address parts are bounded (RFC 5321 local part ≤ 64, DNS labels ≤ 63): unbounded ones made a long run
# of letters and dots quadratic, each start position scanning to the end of the run. Word parts are
# bounded too: a handler that reads only a word's head ("a" of "a1a1a1...") must not make the next search
# rescan the whole run.
_TOKEN = re.compile(
    r"""
    (?P<email>[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8})
    |(?P<url>(?:https?://|www\.)[^\s]*[^\s.,;:!?)\]"'”]
        |\b[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.(?:gov|com|org|net|edu|vn)\b(?:/[^\s]*[^\s.,;:!?)\]"'”])?)
    |(?P<plate>\b\d{2}[A-Z]{1,2}\d?-\d{3}\.\d{2}\b|\b\d{2}[A-Z]{1,2}\d?-\d{4,5}\b)
    |(?P<code>\b\d+(?:/\d{4})?/[A-ZĐ][\wĐđ&]*(?:-[A-ZĐa-zđ][\wĐđ&]*)*|\b\d+-[A-ZĐ]{2,}/[A-ZĐ][\wĐđ]*)
    |(?P<daterange>\b\d{1,2}\s?[-–]\s?\d{1,2}/\d{1,2}(?:/\d{4})?\b)
    |(?P<date>\b\d{1,2}(?P<sep>[/.-])\d{1,2}(?P=sep)\d{4}\b)
    |(?P<series>\b\d{1,3}(?:-\d{1,3}){2,}\b)
    |(?P<time>\b\d{1,2}(?:[hg:]\d{2}(?:ph|p|')?|h)(?!\w))
    |(?P<monthyear>\b\d{1,2}/\d{4}\b)
    |(?P<slash>\b\d+/\d+\b)
    |(?P<phone>\b(?:0\d{2,4}(?:[ .]\d{2,4}){1,3}|1[89]00[ .]?\d{2,4}(?:[ .]\d{3,4})?)\b
        |\(0\d{2,3}\)\ ?\d{3,4}[ .]?\d{3,4}\b|\+(?<![\w+]\+)\d{2,3}(?:[ .]?\d{2,4}){2,4}\b)
    |(?P<dashdate>\b\d{1,2}-\d{1,2}\b(?![-/.,]?\d))
    |(?P<number>\d+(?:[.,]\d+)*)
    |(?P<word>[^\W\d_]\w{0,63}(?:[-&.][^\W_]\w{0,63}){0,8})
    """,
    re.X,
)
_GAP = re.compile(
    r"(?P<ws>\s+)|(?P<dash>[-–—])|(?P<punct>[.,;:!?…]+)|(?P<open>[(\[{])|(?P<close>[)\]}])"
    r"|(?P<quote>[\"'“”‘’«»`])|(?P<sym>.)",
    re.S,
)
_NEXT_WORD = re.compile(r"[^\W_]+")
# After "/", these make it "per" (đồng/người, tấn/ha); other words make it "or" (xã/phường).
_PER = word_set(
    "người hộ năm tháng ngày tuần giờ phút con lượt ca lít ký tấn ha sào công lần cây khẩu suất"
    " khóa buổi chuyến"
)
_PER_CHAIN = re.compile(r"[^\W\d_]+(?: [^\W\d_]+){0,2}")  # "đ/học viên/khóa": the second "/" is "per" too

HANDLERS: dict[str, Callable[[Scan, re.Match[str]], int]] = {
    "email": num.address,
    "url": num.address,
    "plate": num.plate,
    "code": num.code,
    "series": num.series,
    "daterange": num.daterange,
    "date": num.date,
    "time": num.time,
    "monthyear": num.monthyear,
    "slash": num.slash,
    "phone": num.phone,
    "dashdate": num.dashdate,
    "number": num.number,
    "word": word,
}


def _gap(s: Scan, start: int, end: int, next_kind: str) -> None:
    text, b = s.text, s.b
    blank_from = len(text[start:end].rstrip()) + start  # after it the gap is only whitespace
    for g in _GAP.finditer(text, start, end):
        kind, a, z = g.lastgroup, g.start(), g.end()
        if kind == "ws":
            b.space(a, z)
        elif kind == "punct":
            if text[a:z] == "." and a > 0 and z < len(text) and text[a - 1].isalnum() and text[z].isalnum():
                b.space(a, z)  # a joiner inside a code ("T.12"), not a full stop
            else:
                b.copy(a, z)
        elif kind in ("open", "close"):
            b.pause(a, z)
        elif kind == "quote":
            continue  # quotation marks have no sound
        elif kind == "dash":
            if s.prev in NUMERIC and next_kind in NUMERIC and z >= blank_from:
                b.say("đến", a, z)
            elif line_start(text, a) and not text[z : z + 1].isdigit():
                continue  # a list marker
            elif z == end and next_kind == "number" and (a == 0 or text[a - 1].isspace()):
                b.say("âm", a, z)
            else:
                b.pause(a, z)
        else:
            _symbol(s, a, z, next_kind)


def _symbol(s: Scan, a: int, z: int, next_kind: str) -> None:
    ch = s.text[a:z]
    if ch == "/":
        nxt = _NEXT_WORD.match(s.text, z, s.hi)
        following = nxt.group() if nxt else ""
        units = mapping("units_vi")
        per = following.lower() in _PER or following in units or s.prev_word(a) in units  # "đồng/lượng"
        per = per or bool(s.per_end and _PER_CHAIN.fullmatch(s.text, s.per_end, a))
        if per or s.prev in NUMERIC or next_kind in NUMERIC:
            s.b.say("trên", a, z)
            s.per_end = z
        else:
            s.b.say("hoặc", a, z)
        return
    if ch in "•·*+" and line_start(s.text, a) and not (ch == "+" and s.text[z : z + 1].isdigit()):
        return  # a list marker ("+5 độ" is a sign, read below)
    if ch == "~" and s.prev in NUMERIC and next_kind in NUMERIC and s.next_char(z).isdigit():
        s.b.say("đến", a, z)  # "50~100 mm" is a range; "~50 mm" alone is "khoảng"
        return
    reading = mapping("symbols_vi").get(ch)
    if reading:
        s.b.say(reading.replace("{thousand}", s.d.thousand), a, z)
        return
    s.b.say("ký hiệu", a, z)
    s.b.warn("unknown_symbol", f"no reading for {ch!r} (U+{ord(ch):04X})", a, z, "ký hiệu")


def normalize_vi(
    text: str, d: Dialect, start: int = 0, end: int | None = None, table: Lexicon | None = None
) -> Normalized:
    end = len(text) if end is None else end
    s = Scan(text, d, Builder(text), lo=start, hi=end)
    if table is not None:
        s.table = table
    pos = start
    while pos < end:
        m = _TOKEN.search(text, pos, end)
        if m is None:
            _gap(s, pos, end, "")
            break
        kind = m.lastgroup or ""
        _gap(s, pos, m.start(), kind)
        new_pos = HANDLERS[kind](s, m)
        s.prev = kind
        pos = max(new_pos, m.start() + 1)
    return s.b.build()
