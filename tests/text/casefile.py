"""Reads the public test sets (cases_*.tsv): an input sentence and the reading it must get.

In an expected reading, {a|b} accepts either a or b, and {a|} makes "a" optional. Readings are compared
case-insensitively with runs of spaces as one space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
_GROUP = re.compile(r"( ?)\{([^{}]*)\}")


@dataclass(frozen=True)
class Case:
    line: int
    category: str
    text: str
    expected: str
    dialect: str | None

    @property
    def id(self) -> str:
        return f"{self.category}-{self.line}"

    def pattern(self) -> re.Pattern[str]:
        out, pos = [], 0
        expected = squash(self.expected)
        for m in _GROUP.finditer(expected):
            out.append(re.escape(expected[pos : m.start()]))
            options = m.group(2).split("|")
            alternatives = "|".join(re.escape(squash(o)) for o in options if o)
            space = re.escape(m.group(1))
            if "" in options:
                out.append(f"(?:{space}(?:{alternatives}))?")
            else:
                out.append(f"{space}(?:{alternatives})")
            pos = m.end()
        out.append(re.escape(expected[pos:]))
        return re.compile("".join(out))


def squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def load(name: str) -> list[Case]:
    cases = []
    for number, line in enumerate((HERE / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (3, 4):
            raise ValueError(f"{name} line {number}: expected 3 or 4 tab-separated fields")
        dialect = fields[3] if len(fields) == 4 else None
        cases.append(Case(number, fields[0], fields[1], fields[2], dialect))
    return cases
