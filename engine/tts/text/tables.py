"""The data tables in data/*.tsv, loaded once: tab-separated rows, "#" starts a comment line."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
WHEN_FIXED = ("always", "before_name", "before_phone", "code")
WHEN_PREFIXES = ("next:", "prev:")

# written form -> {when: reading}; see data/abbreviations_vi.tsv for the "when" rules.
Lexicon = Mapping[str, Mapping[str, str]]


@cache
def rows(name: str) -> tuple[tuple[str, ...], ...]:
    out = []
    for number, line in enumerate((DATA / f"{name}.tsv").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = tuple(f.strip() for f in line.split("\t"))
        if len(fields) < 2 or not all(fields):
            raise ValueError(f"data/{name}.tsv line {number}: expected tab-separated fields: {line!r}")
        out.append(fields)
    return tuple(out)


@cache
def mapping(name: str, fold_case: bool = False) -> dict[str, str]:
    """First two columns as a dict; keys lower-cased when ``fold_case``."""
    return {(r[0].lower() if fold_case else r[0]): r[1] for r in rows(name)}


def valid_when(when: str) -> bool:
    return when in WHEN_FIXED or (when.startswith(WHEN_PREFIXES) and len(when) > 5)


def parts(name: str) -> tuple[str, ...]:
    """The files of one abbreviation table: ``name``.tsv and its topic files ``name``_*.tsv (the public-
    sector lexicon: agencies, party, organisations, documents, people, terms), read as one table."""
    return (name, *sorted(p.stem for p in DATA.glob(f"{name}_*.tsv")))


@cache
def abbreviations(name: str) -> dict[str, dict[str, str]]:
    """written form -> {when: reading} for the abbreviation tables (written, reading, when[, source]).

    A written form may have one row per "when"; two rows with the same form and "when" are an error, even
    in different files, since one of them would silently never be read."""
    out: dict[str, dict[str, str]] = {}
    seen: dict[tuple[str, str], str] = {}
    for part in parts(name):
        for row in rows(part):
            if len(row) not in (3, 4):
                raise ValueError(f"data/{part}.tsv: expected written, reading, when[, source]: {row!r}")
            written, reading, when = row[:3]
            if not valid_when(when):
                raise ValueError(f"data/{part}.tsv: unknown 'when' {when!r} for {written!r}")
            if (written, when) in seen:
                raise ValueError(
                    f"data/{part}.tsv: {written!r} ({when}) is also in data/{seen[written, when]}.tsv"
                )
            seen[written, when] = part
            out.setdefault(written, {})[when] = reading
    return out


def layered(base: Lexicon, extra: Mapping[str, str | Mapping[str, str]] | None) -> Lexicon:
    """``base`` with a deployment's own entries on top: each written form of ``extra`` replaces all of
    the base's rows for that form. A plain string reading applies "always"."""
    if not extra:
        return base
    out = _Layered(base)
    for written, value in extra.items():
        rows_ = {"always": value} if isinstance(value, str) else dict(value)
        bad = [w for w in rows_ if not valid_when(w)]
        if not written or not all(rows_.values()) or bad:
            raise ValueError(f"lexicon: entry {written!r} needs a reading and known 'when' rules (got {bad})")
        out[written] = rows_
    out.own = frozenset(extra)
    return out


class _Layered(dict[str, Mapping[str, str]]):
    """A table with a deployment's entries on top; ``own``: their written forms (the preview tells
    a deployment's reading from a built-in one)."""

    own: frozenset[str] = frozenset()


def is_deployment_entry(table: Lexicon, written: str) -> bool:
    return isinstance(table, _Layered) and written in table.own
