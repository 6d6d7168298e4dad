"""A clocked buffer between a live source and the airing: the writer pushes 48 kHz mono float32 PCM at
whatever pace the source has (bursts at connect, stalls, a clock a little fast or slow); the reader takes
chunks at the pace of the wall clock, after a target latency. Shared by the relay (relay.py) and the live
voice.

- Start: the reader's first chunk comes when the buffer holds ``target_s`` of audio; from then on chunk k
  is due at start + k * chunk_s, whatever the writer does.
- Too much: beyond ``max_s`` buffered the oldest audio is dropped down to the target (Icecast sends
  seconds of backlog at connect; a relay stays live instead of airing it late).
- Backlog: if the buffer's lowest level over ``SETTLE_S`` stays more than ``jump_s`` above the target
  (a burst under the maximum, a source that caught up at once after a stall), the excess is dropped
  at once: a slow correction would take minutes to air it away. The lowest level, not the mean, so a
  source that delivers in large pieces (HLS segments) is not cut.
- Drift: the buffer's low-water mark (its lowest level in each ``settle_s``, smoothed over
  ``DRIFT_TAU_S``: the margin left against running dry, whatever the source's jitter) is held where
  it settled after the start by reading a few
  samples more or fewer per chunk and resampling the chunk to its length (linear interpolation of at most
  ``MAX_SKEW`` samples per chunk, ~0.1 %: a pitch change nobody hears), so a source clock that is off by
  hundreds of ppm neither fills the buffer nor drains it over hours.
- Too little: when a chunk is due and the buffer runs dry, the rest of it is filler (or silence) and a
  :class:`~engine.live.feed.Gap` opens; its cause is the first fault the writer reported meanwhile
  (:meth:`ClockedBuffer.fault`), else "stalled". The source's audio comes back once the buffer holds the
  target again (rebuffering), so a source that trickles does not stutter.
- End: the writer finished (its buffer drained), ``duration_s`` of chunks handed out, ``end_time``
  reached, or :meth:`close`. A writer that fails before anything was handed out makes the reader raise
  LiveSourceFailed with its reason.

The logic is :meth:`ClockedBuffer.step` (pure: give it the time, get a chunk or the time to wait), so
tests drive it as data with any clock; :meth:`chunks` is the thread edge that sleeps until each chunk
is due.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from engine.live.feed import Gap, LiveSourceFailed

RATE = 48_000
SETTLE_S = 2.0  # the lowest level over this long, if still above target + jump_s, is dropped at once
DRIFT_TAU_S = 8.0  # the low-water marks are smoothed over this long: one dip does not steer
DEADBAND_S = 0.04  # no correction this close to the settled low-water mark: jitter is not drift
MAX_SKEW = 1  # samples read more or fewer per chunk (1 per 20 ms chunk = 0.1 %)

Filler = Callable[[int], np.ndarray]  # samples wanted → that many samples of filler


def silence(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.float32)


@dataclass
class Step:
    """What the reader does now: take ``chunk``, or wait until ``wait_until``, or stop (``end``)."""

    chunk: np.ndarray | None = None
    wait_until: float | None = None
    end: bool = False


class ClockedBuffer:
    """See the module docstring. Writer methods and :meth:`close` may be called from any thread."""

    def __init__(
        self,
        *,
        target_s: float = 0.5,
        max_s: float = 2.0,
        jump_s: float = 0.25,
        settle_s: float = SETTLE_S,
        chunk_s: float = 0.02,
        duration_s: float | None = None,
        end_time: float | None = None,
        filler: Filler | None = None,
        clock: Callable[[], float] = time.time,
        rate: int = RATE,
    ) -> None:
        if not 0 < chunk_s <= 0.1:
            raise ValueError(f"chunk_s: {chunk_s} is not in (0, 0.1]")
        if target_s < 0 or max_s < target_s + chunk_s:
            raise ValueError(f"max_s: {max_s} must be at least target_s + chunk_s")
        self.rate = rate
        self.chunk = max(1, round(chunk_s * rate))
        self.target = round(target_s * rate)
        self.max = round(max_s * rate)
        self.jump = round(jump_s * rate)
        self.settle = round(settle_s * rate)  # longer than the source's pieces (an HLS segment)
        self.duration = None if duration_s is None else round(duration_s * rate)
        self.end_time = end_time
        self.filler = filler or silence
        self.clock = clock
        self._parts: deque[np.ndarray] = deque()
        self._buffered = 0
        self._cond = threading.Condition()
        self._start: float | None = None  # wall time of the first chunk
        self._served = 0  # samples handed out
        self._rebuffering = False
        self._level = 0.0  # smoothed low-water mark (buffered samples)
        self._base: float | None = None  # the low-water mark of the first settled window
        self._low = 0  # lowest buffered samples after a read since _low_since samples were served
        self._low_since = 0
        self._gaps: list[Gap] = []
        self._gap_start: float | None = None
        self._gap_samples = 0
        self._gap_cause: str | None = None
        self._pending_fault: str | None = None
        self._writer_done = False
        self._failure: str | None = None
        self._closed = False
        self.end_reason = ""
        self.dropped_samples = 0  # oldest audio dropped beyond max_s
        self.skewed_samples = 0  # net samples read more (+) or fewer (-) to hold the level

    # -- writer side -------------------------------------------------------------------------------------

    def write(self, pcm: np.ndarray) -> bool:
        """Appends PCM (any length). False once the buffer is closed or ended: the writer should stop."""
        pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
        with self._cond:
            if self._closed or self.end_reason:
                return False
            if pcm.size:
                self._parts.append(pcm)
                self._buffered += pcm.size
                self._pending_fault = None
                if self._buffered > self.max:
                    self._drop(self._buffered - self.target)
                self._cond.notify_all()
            return True

    def fault(self, cause: str) -> None:
        """The source has a fault (e.g. "stalled", "unreachable", "ended early", "malformed"): the gap it
        causes (open now or opening when the buffer runs dry) is recorded with this cause."""
        with self._cond:
            if self._gap_start is not None and self._gap_cause is None:
                self._gap_cause = cause
            elif self._pending_fault is None:
                self._pending_fault = cause

    def finish(self, reason: str = "the source ended") -> None:
        """No more audio: the reader drains what is buffered, then ends."""
        with self._cond:
            self._writer_done = True
            self._finish_reason = reason
            self._cond.notify_all()

    def fail(self, reason: str) -> None:
        """The source failed for good: before the first chunk, the reader raises LiveSourceFailed(reason);
        after it, the buffer drains and the reader ends."""
        with self._cond:
            self._failure = reason
            self.finish(reason)

    # -- reader side ---------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed or bool(self.end_reason)

    @property
    def started(self) -> bool:
        return self._start is not None

    @property
    def start_time(self) -> float | None:
        """Wall time of the first chunk (None before it)."""
        return self._start

    @property
    def buffered_s(self) -> float:
        return self._buffered / self.rate

    @property
    def gaps(self) -> list[Gap]:
        """Every gap so far (the open one with its length so far), oldest first."""
        with self._cond:
            gaps = list(self._gaps)
            if self._gap_start is not None:
                gaps.append(self._open_gap())
            return gaps

    def step(self, now: float) -> Step:
        """The reader's next move at wall time ``now`` (pure logic; the lock is taken here)."""
        with self._cond:
            return self._step(now)

    def chunks(self) -> Iterator[np.ndarray]:
        """Yields each chunk when the clock reaches it (the thread edge of :meth:`step`)."""
        while True:
            with self._cond:
                s = self._step(self.clock())
                if s.chunk is None and not s.end:
                    wait = None if s.wait_until is None else max(0.0, s.wait_until - self.clock())
                    self._cond.wait(timeout=wait if wait is None else min(wait, 1.0))
                    continue
            if s.end:
                return
            assert s.chunk is not None
            yield s.chunk

    # -- the logic -----------------------------------------------------------------------------------------

    def _step(self, now: float) -> Step:
        if self._closed:
            self._end(now, "closed")
        if self.end_reason:
            return Step(end=True)
        if self._start is None:
            if self._failure is not None:
                self.end_reason = self._failure
                raise LiveSourceFailed(self._failure)
            if self.end_time is not None and now >= self.end_time:
                self._end(now, "end time reached")
                return Step(end=True)
            if self._buffered >= max(self.target, 1) or (self._writer_done and self._buffered):
                self._start = now
                self._low = self._buffered
            elif self._writer_done:
                self._end(now, self._finish_reason)
                return Step(end=True)
            else:
                return Step(wait_until=self.end_time)
        due = self._start + self._served / self.rate
        if now < due:
            return Step(wait_until=due)
        n = self.chunk
        if self.duration is not None:
            n = min(n, self.duration - self._served)
        if self.end_time is not None:
            n = min(n, round((self.end_time - due) * self.rate))
        if n <= 0:
            self._end(due, "duration reached" if self.duration is not None else "end time reached")
            return Step(end=True)
        if self._writer_done and self._buffered == 0:
            self._end(due, self._finish_reason)
            return Step(end=True)
        chunk = self._read(n, due)
        self._served += n
        return Step(chunk=chunk)

    def _read(self, n: int, due: float) -> np.ndarray:
        if self._rebuffering and (self._buffered >= self.target or self._writer_done):
            self._rebuffering = False
            self._base = None
            self._low, self._low_since = self._buffered, self._served
        if not self._rebuffering and self._buffered >= n:
            self._close_gap()
            take = n + self._skew(n)
            pcm = self._take(min(take, self._buffered))
            self._settle()
            if pcm.size != n:
                self.skewed_samples += pcm.size - n
                pcm = stretch(pcm, n)
            return pcm
        # dry: what is left (if not rebuffering), then filler; the gap starts at the first filler sample
        head = np.zeros(0, np.float32) if self._rebuffering else self._take(min(n, self._buffered))
        if not self._writer_done:
            self._rebuffering = True
        missing = n - head.size
        if self._gap_start is None:
            self._gap_start = due + head.size / self.rate
            self._gap_samples = 0
            self._gap_cause = self._pending_fault
            self._pending_fault = None
        self._gap_samples += missing
        fill = np.asarray(self.filler(missing), dtype=np.float32)[:missing]
        if fill.size < missing:
            fill = np.concatenate([fill, np.zeros(missing - fill.size, np.float32)])
        return np.concatenate([head, fill]) if head.size else fill

    def _settle(self) -> None:
        """Drops a standing backlog, and follows the low-water mark for drift (module docstring)."""
        if self._served - self._low_since < self.settle:
            self._low = min(self._low, self._buffered)
            return
        if self._low - self.target > self.jump:
            self._drop(self._low - self.target)
            self._base = None  # measured again from the next window
        elif self._base is None:
            self._base = self._level = float(self._low)
        else:
            self._level += (self._low - self._level) * min(1.0, self.settle / (DRIFT_TAU_S * self.rate))
        self._low = self._buffered
        self._low_since = self._served

    def _skew(self, n: int) -> int:
        """Samples to read more (+) or fewer (-) than ``n`` to bring the low-water mark back to where
        it settled (its first window after the start): where a source's jitter and pieces put it is
        not drift, a trend away from it is."""
        if self._base is None:
            return 0
        error = self._level - self._base
        if abs(error) <= DEADBAND_S * self.rate:
            return 0
        skew = MAX_SKEW if error > 0 else -MAX_SKEW
        return skew if n + skew > 1 else 0

    def _take(self, n: int) -> np.ndarray:
        out = np.empty(n, dtype=np.float32)
        got = 0
        while got < n:
            part = self._parts[0]
            k = min(n - got, part.size)
            out[got : got + k] = part[:k]
            got += k
            if k == part.size:
                self._parts.popleft()
            else:
                self._parts[0] = part[k:]
        self._buffered -= n
        return out

    def _drop(self, n: int) -> None:
        self._take(n)
        self.dropped_samples += n

    def _open_gap(self) -> Gap:
        assert self._gap_start is not None
        return Gap(self._gap_start, self._gap_samples / self.rate, self._gap_cause or "stalled")

    def _close_gap(self) -> None:
        if self._gap_start is not None:
            self._gaps.append(self._open_gap())
            self._gap_start = None
            self._gap_cause = None

    def _end(self, now: float, reason: str) -> None:
        if not self.end_reason:
            self._close_gap()
            self.end_reason = reason
            self._parts.clear()
            self._buffered = 0
            self._cond.notify_all()

    _finish_reason = "the source ended"


def stretch(pcm: np.ndarray, n: int) -> np.ndarray:
    """``pcm`` resampled to ``n`` samples by linear interpolation (ends kept: chunks join smoothly)."""
    if pcm.size == n:
        return pcm
    if pcm.size < 2:
        return np.resize(pcm, n).astype(np.float32)
    x = np.linspace(0.0, pcm.size - 1, n)
    return np.interp(x, np.arange(pcm.size), pcm).astype(np.float32)
