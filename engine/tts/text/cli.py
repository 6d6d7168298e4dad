"""``loa normalize``: bulletin text on stdin, speakable text on stdout, one line out per line in.

Scripts rely on the line-for-line contract, so a line that reads to nothing is still an (empty) line, and
warnings go to stderr as "line N: code: message".
"""

from __future__ import annotations

import argparse
import sys

from engine.tts.limits import DEFAULT_DIALECT, DIALECTS


def _run(args: argparse.Namespace) -> int:
    from . import normalize, resolve_language
    from .normalize import resolve_dialect

    try:
        lang = resolve_language(args.lang)
        resolve_dialect(lang, args.dialect)
    except ValueError as e:
        print(f"loa normalize: {e}", file=sys.stderr)
        return 2
    stdin = sys.stdin if args.input is None else open(args.input, encoding="utf-8")  # noqa: SIM115
    with stdin:
        for number, line in enumerate(stdin, 1):
            result = normalize(line.rstrip("\r\n"), lang, args.dialect)
            sys.stdout.write(result.text.replace("\n", " ") + "\n")
            for w in result.warnings:
                print(
                    f"line {number}: {w.code}: {w.message} [{w.source_text!r} -> {w.spoken_as!r}]",
                    file=sys.stderr,
                )
            for u in result.lexicon if args.show_lexicon else ():
                where = f"{u.source_span.start}-{u.source_span.end}"
                print(
                    f"line {number}: lexicon: {u.written!r} -> {u.spoken!r} (built-in) at {where}",
                    file=sys.stderr,
                )
    sys.stdout.flush()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "normalize",
        help="bulletin text to speakable text (numbers, dates, abbreviations, units), line by line",
        description="Reads lines on stdin and writes exactly one normalized line per input line on stdout; "
        "warnings (spelled-out abbreviations, unknown symbols) go to stderr.",
    )
    p.add_argument(
        "--lang", default="vi", help="vi, km (full); en, yue, blt, bdq, cmo, bru (whitespace only)"
    )
    p.add_argument(
        "--dialect", choices=DIALECTS, default=None, help=f"Vietnamese readings (default: {DEFAULT_DIALECT})"
    )
    p.add_argument(
        "--show-lexicon",
        action="store_true",
        help="also list on stderr which abbreviation entries read what (code points of the line)",
    )
    p.add_argument("--input", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_run)
