"""How far a broadcast got, from the stream's playout clock: the data, no I/O.

An airing marks the stream sample where each piece starts, with the progress (repeat, segment, sentence)
that piece stands for. What a speaker plays now is the sample one playout delay behind the sender's media
clock; the last mark at or before it says which sentence is on air, so a cut (preemption, cancel, crash)
resumes from the sentence people were hearing, not the one synthesis had reached (up to seconds ahead).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from engine.jobs.model import Progress
from streaming.rtp import CLOCK_RATE


def playing_sample(now: float, start_time: float | None, delay_s: float) -> int:
    """The stream sample speakers play at wall time ``now``; -1 before the stream has a start time."""
    if start_time is None:
        return -1
    return int((now - start_time - delay_s) * CLOCK_RATE)


@dataclass(frozen=True)
class Mark:
    sample: int  # stream sample where this piece starts
    progress: Progress


@dataclass
class Timeline:
    """One stream's marks, and which of them was last reported; ``aired_before`` counts earlier airings
    (repeats) so ``aired_s`` runs on across them."""

    aired_before: float = 0.0
    marks: list[Mark] = field(default_factory=list)
    reported: int = -1  # index of the last mark handed out as new

    def mark(self, sample: int, progress: Progress) -> None:
        """A piece starts at ``sample``; consecutive pieces of one sentence keep one mark."""
        if not self.marks or self.marks[-1].progress != progress:
            self.marks.append(Mark(sample, progress))

    def at(self, playing: int, fed: int) -> tuple[Progress, bool] | None:
        """The progress playing at sample ``playing`` (of ``fed`` fed so far) with ``aired_s`` filled in,
        and whether it is a sentence not handed out as new before; None before the first mark plays."""
        current = max((i for i, m in enumerate(self.marks) if m.sample <= playing), default=-1)
        if current < 0:
            return None
        aired = self.aired_before + max(0, min(playing, fed)) / CLOCK_RATE
        progress = dataclasses.replace(self.marks[current].progress, aired_s=aired)
        new = current > self.reported
        self.reported = max(self.reported, current)
        return progress, new
