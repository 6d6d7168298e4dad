"""The data tables in data/*.tsv, loaded once: tab-separated rows, "#" starts a comment line."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")


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


@cache
def abbreviations(name: str) -> dict[str, dict[str, str]]:
    """written form -> {when: reading} for the three-column abbreviation tables."""
    out: dict[str, dict[str, str]] = {}
    for written, reading, when in rows(name):
        if when not in ("always", "before_name", "before_phone", "code") and not when.startswith("next:"):
            raise ValueError(f"data/{name}.tsv: unknown 'when' {when!r} for {written!r}")
        out.setdefault(written, {})[when] = reading
    return out
