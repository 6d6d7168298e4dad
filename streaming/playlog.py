"""What a speaker played of each bulletin, for its play reports (the broadcast log, nhật ký phát).

Pure: the speaker agent (receiver.py) hands in, for each 20 ms block it rendered, the frames played, the
streams present and the labels their sender reports carried; out come :class:`PlayReport` s. A stream
is tracked by SSRC. Its label ``{bulletin}/{airing}`` rides in the SDES of every sender report
(rtcp.label_item), under SRTCP on keyed groups, so a broker cannot forge it.

Per stream: the first and last frame played as wall time on the sender's clock (local time + the
clock offset), frames played (packet, FEC or concealment), concealed (FEC or PLC: not its own packet)
and lost (silence within the stream's span: nothing to play), and why it stopped:

- PREEMPTED: when it left, a higher-priority stream had been covering it (it was present, unheard);
- END: it had ended (RTCP BYE, or a newer stream on its group) and was heard to the end;
- TIMEOUT: it went silent without a BYE (sender gone, link down past the stream timeout);
- STOPPED: the agent stopped while it played.

:class:`ReportQueue` keeps reports made while the broker link is down (bounded: the oldest go first)
and sends them when it is back; given a file (the speaker's --cache-dir), it keeps them across a reboot
too, since a cluster on a commune's mains loses power far more often than its link.
"""

from __future__ import annotations

import logging
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from streaming.broker.messages import PlayReport, StopReason
from streaming.playout import PlayedFrame
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES

LABEL_RE = re.compile(r"([A-Za-z0-9_-]{1,64})/([0-9]{1,9})")
MAX_TRACKS = 64  # streams tracked at once (the playout holds at most 16)
MAX_KEPT = 256  # reports kept for the summary, and queued while the link is down
REPORTS_FILE = "reports.jsonl"  # the queue kept in the cache directory, one report a line

log = logging.getLogger(__name__)


def parse_label(label: str) -> tuple[str, int] | None:
    """``bulletin/airing`` → (bulletin, airing); None for anything else."""
    m = LABEL_RE.fullmatch(label)
    return (m.group(1), int(m.group(2))) if m else None


@dataclass
class Track:
    ssrc: int
    priority: int = 0
    label: str = ""
    first: float | None = None  # sender wall time of the first frame played
    last: float | None = None  # ... of the end of the last frame played
    played: int = 0
    concealed: int = 0
    lost: int = 0
    covered: bool = False  # present but unheard under a higher-priority stream


@dataclass(frozen=True, slots=True)
class Present:
    """A stream the playout holds during a block."""

    ssrc: int
    priority: int
    ended: bool  # BYE received or superseded


class PlayLog:
    def __init__(self) -> None:
        self.tracks: dict[int, Track] = {}
        self.reports: deque[PlayReport] = deque(maxlen=MAX_KEPT)
        self.unlabelled = 0  # streams that played without a valid label: no report possible

    def on_block(
        self,
        index: int,
        offset: float,
        frames: Iterable[PlayedFrame],
        playing_priority: int,
        present: Iterable[Present],
        labels: Mapping[int, str],
    ) -> None:
        """One rendered block starting at output sample ``index``; ``offset``: sender minus local clock."""
        heard: set[int] = set()
        for f in frames:
            track = self._track(f.ssrc)
            at = f.index / CLOCK_RATE + offset
            if f.kind == "silence":
                track.lost += 1
                continue
            heard.add(f.ssrc)
            track.played += 1
            track.concealed += f.kind in ("fec", "plc")
            track.first = at if track.first is None else track.first
            track.last = at + FRAME_SAMPLES / CLOCK_RATE
        for p in present:
            known = self.tracks.get(p.ssrc)
            if known is None:
                continue
            known.priority = p.priority
            if p.ssrc in heard:
                known.covered = False
            elif not p.ended:
                known.covered = playing_priority > p.priority
        for ssrc, label in labels.items():
            if ssrc in self.tracks:
                self.tracks[ssrc].label = label

    def gone(self, streams: Iterable[tuple[int, bool]]) -> list[PlayReport]:
        """Streams the playout forgot, as (ssrc, ended): their reports."""
        out = []
        for ssrc, ended in streams:
            track = self.tracks.pop(ssrc, None)
            if track is None:
                continue
            reason = (
                StopReason.PREEMPTED if track.covered else StopReason.END if ended else StopReason.TIMEOUT
            )
            out += self._report(track, reason)
        return out

    def stop(self) -> list[PlayReport]:
        """The agent stops: every stream still tracked ends STOPPED (or PREEMPTED if it was covered)."""
        out = []
        for track in self.tracks.values():
            out += self._report(track, StopReason.PREEMPTED if track.covered else StopReason.STOPPED)
        self.tracks.clear()
        return out

    def _track(self, ssrc: int) -> Track:
        track = self.tracks.get(ssrc)
        if track is None:
            if len(self.tracks) >= MAX_TRACKS:  # bounded under an SSRC flood: the oldest goes unreported
                del self.tracks[next(iter(self.tracks))]
            track = self.tracks[ssrc] = Track(ssrc)
        return track

    def _report(self, track: Track, reason: StopReason) -> list[PlayReport]:
        if track.first is None or track.last is None:
            return []  # never heard: nothing played to report (a missed bulletin is the cache's report)
        parsed = parse_label(track.label)
        if parsed is None:
            self.unlabelled += 1
            return []
        report = PlayReport(
            parsed[0],
            parsed[1],
            round(track.first, 6),
            round(track.last, 6),
            track.played,
            track.concealed,
            track.lost,
            reason,
        )
        self.reports.append(report)
        return [report]


class ReportQueue:
    """Reports waiting for the broker link; :meth:`drain` sends them in order while ``send`` succeeds.
    With ``path`` the queue is rewritten there (whole, atomically: at most MAX_KEPT short lines) on
    every change and read back at start; unreadable lines are skipped and counted."""

    def __init__(self, limit: int = MAX_KEPT, path: Path | None = None) -> None:
        self._queue: deque[PlayReport] = deque()
        self._limit = limit
        self._path = path
        self.sent = 0
        self.dropped = 0  # the oldest, pushed out by a long outage
        self.unreadable = 0  # lines of the file that were not a report (a torn write, a bad card)
        if path is not None:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._load(path)

    def push(self, report: PlayReport) -> None:
        if len(self._queue) >= self._limit:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(report)
        self._save()

    def drain(self, send: Callable[[PlayReport], bool]) -> int:
        n = 0
        while self._queue and send(self._queue[0]):
            self._queue.popleft()
            n += 1
        self.sent += n
        if n:
            self._save()
        return n

    def _load(self, path: Path) -> None:
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:
            return
        for line in lines[-self._limit :]:
            try:
                self._queue.append(PlayReport.parse(line))
            except ValueError:
                self.unreadable += 1
        if self.unreadable:
            log.warning("%s: skipped %d unreadable queued play reports", path, self.unreadable)

    def _save(self) -> None:
        if self._path is None:
            return
        tmp = self._path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(b"".join(r.serialize() + b"\n" for r in self._queue))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except OSError as exc:  # a full or read-only card: the reports still go from memory
            log.warning("%s: cannot keep the play-report queue: %s", self._path, exc)

    def __len__(self) -> int:
        return len(self._queue)
