"""The one set of synthesis limits: what the API, broadcasts, the synthesizer and ``loa say`` accept.

Speed is piper's length scale inverted: below 0.25 a word takes over four times its length and turns
into a drone; above 4 syllables run together. Noise beyond 2 is hiss on every voice we ship. A sentence
pause beyond 10 s sounds like the end of the bulletin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """A closed range, or one open at the bottom; ``unit`` "s" writes it as 0..10 s."""

    low: float
    high: float
    low_open: bool = False
    unit: str = ""

    def __str__(self) -> str:
        if self.unit:
            return f"{self.low:g}..{self.high:g} {self.unit}"
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or math.isnan(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def problem(self, value: float) -> str | None:
        """None when ``value`` is inside; else "4.5 not in (0.25, 4]"."""
        if value in self:
            return None
        return f"{value}{' ' + self.unit if self.unit else ''} not in {self}"

    def check(self, value: float, field: str) -> float:
        """``value``, or a ValueError naming ``field``."""
        problem = self.problem(value)
        if problem is not None:
            raise ValueError(f"{field}: {problem}")
        return value


SPEED = Limit(0.25, 4.0, low_open=True)
NOISE = Limit(0.0, 2.0)  # noise_scale and noise_w
SENTENCE_PAUSE_S = Limit(0.0, 10.0, unit="s")
DEFAULT_SENTENCE_PAUSE_S = 0.3  # when a request names none


# The Vietnamese dialects the reading rules know (their words: engine/tts/text/numbers_vi.py), and the one
# a request without a dialect is both read and voiced in (#13): the normalizer, the voice choice
# (voices/registry.py) and every command's --dialect take them from here.
DIALECTS = ("south", "north")
DEFAULT_DIALECT = "south"
