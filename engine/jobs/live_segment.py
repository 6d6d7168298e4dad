"""A live segment on air: chunks of a :class:`~engine.live.feed.LiveFeed` fed to the airing's stream as
they come, with its progress (seconds of the source aired), its gaps in the log and the metrics, and its
end (duration, end time, or the source's own end).

The feed is already paced by the wall clock (feed.py), so the stream is fed at the pace it sends. The
one thing done here about timing is the margin: before each chunk, the stream's media time is brought at
least ``MARGIN_S`` ahead of the wall clock with silence (at the start, and after the feed fell behind),
so a chunk that comes a little late (a busy thread, the GIL) is still sent on time instead of making the
packetizer move frames to later slots (packetizer.py); the margin is part of a live voice's latency
(bench/README.md). A stream fed ahead (text segments synthesized before it) needs no padding.

A cut (preemption, cancel, shutdown) closes the feed; a resumed airing opens a new one, which joins the
source at the present: a live source never resumes where it was cut. ``already_s`` (Progress.live_s at
the cut) counts towards the duration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from engine.jobs.errors import InvalidTransition
from engine.jobs.model import AIRING_STATES, Broadcast, EventType, Interruption, Progress, ResumeMode
from engine.jobs.store import Store
from engine.live.feed import Gap, LiveFeed, LiveSourceFailed
from engine.metrics import ServerMetrics
from streaming.packetizer import Stream
from streaming.rtp import CLOCK_RATE

log = logging.getLogger(__name__)

MARGIN_S = 0.06  # the stream's media time is kept this far ahead of the wall clock (see above)
# a progress mark (a store write) every this many seconds of the source. A cut's progress is the mark
# playing at the last write, so what a resume counts as aired of the duration is short by up to this much
# plus what was sent but not yet played (playout delay + MARGIN_S): the relay test measured 1.3 s with a
# 0.3 s delay; the resumed part airs that much longer. One store write a second per live airing.
MARK_EVERY_S = 1.0
GAP_SETTLE_S = 1.0  # the last gap is recorded once it ended this long ago (it may still grow)

# (broadcast, segment index) → a new feed of that segment's source, joining it at the present
FeedFactory = Callable[[Broadcast, int], LiveFeed]


def gap_reason(gap: Gap) -> str:
    """A gap as an Interruption's reason in the log: its cause and length."""
    return f"live source gap: {gap.cause}, {gap.length_s:.1f} s"


class LiveSegment:
    """One live segment of one airing (one feed). :meth:`close` may be called from any thread."""

    def __init__(
        self,
        open_feed: FeedFactory | None,
        store: Store,
        metrics: ServerMetrics | None,
        broadcast: Broadcast,
        repeat: int,
        seg_index: int,
        already_s: float,
        delay_s: float,
    ) -> None:
        live = broadcast.spec.segments[seg_index].live
        assert live is not None
        self.live = live
        self.store = store
        self.metrics = metrics
        self.broadcast = broadcast
        self.repeat = repeat
        self.seg_index = seg_index
        self.already_s = already_s
        self.delay_s = delay_s
        self.end_reason = ""  # why the source ended, when it ended on its own ("client gone", ...)
        self._open_feed = open_feed
        self._feed: LiveFeed | None = None
        self._closed = threading.Event()
        self._recorded: set[float] = set()  # start times of the gaps already in the log

    def close(self) -> None:
        self._closed.set()
        feed = self._feed
        if feed is not None:
            feed.close()

    def progress(self, live_s: float) -> Progress:
        return Progress(self.repeat, self.seg_index, 0, 1, live_s=live_s)

    def audio(
        self, stream: Stream, check_stopped: Callable[[], None]
    ) -> Iterator[tuple[Progress, np.ndarray]]:
        """(progress, 48 kHz PCM) to feed to ``stream`` until the segment ends; padding included.
        Raises LiveSourceFailed if the source never comes up. Closes the feed however it ends."""
        remaining = (
            self.live.duration_s - self.already_s if self.live.duration_s is not None else float("inf")
        )
        if remaining <= 0 or self._past_end(stream):
            return
        if self._open_feed is None:
            raise LiveSourceFailed("live: live sources are not enabled on this server")
        self._feed = self._open_feed(self.broadcast, self.seg_index)
        if self._closed.is_set():  # cut while the feed was being opened
            self._feed.close()
        fed = 0  # samples of the source fed
        limit = remaining * CLOCK_RATE
        try:
            for chunk in self._feed.chunks():
                check_stopped()
                live_s = self.already_s + fed / CLOCK_RATE
                mark = self.progress(live_s - live_s % MARK_EVERY_S)
                pad = self._padding(stream)
                if pad:
                    yield mark, np.zeros(pad, dtype=np.float32)
                if self._past_end(stream):
                    break
                if fed + len(chunk) >= limit:
                    yield mark, chunk[: max(0, int(limit - fed))]
                    fed = int(limit)
                    break
                yield mark, chunk
                fed += len(chunk)
                if fed % round(MARK_EVERY_S * CLOCK_RATE) < len(chunk):
                    self._record_gaps(mark, final=False)
            else:
                self.end_reason = str(getattr(self._feed, "end_reason", "") or "")
            check_stopped()
        finally:
            self._feed.close()
            self._record_gaps(self.progress(self.already_s + fed / CLOCK_RATE), final=True)
        # the exact seconds aired, for the log and a later resume (the marks above are MARK_EVERY_S apart)
        yield self.progress(self.already_s + fed / CLOCK_RATE), np.zeros(0, dtype=np.float32)
        if self.end_reason:
            self._note(EventType.PROGRESS, f"live source ended: {self.end_reason}")

    def _padding(self, stream: Stream) -> int:
        """Samples of silence that bring the stream's media time ``MARGIN_S`` ahead of the wall clock."""
        now = time.time()
        if stream.start_time is None:  # starts at its first feed: begin with the margin itself
            return round(MARGIN_S * CLOCK_RATE)
        ahead = stream.media_time(stream.samples_fed) - now
        if ahead >= MARGIN_S / 2:
            return 0
        return round((MARGIN_S - ahead) * CLOCK_RATE)

    def _past_end(self, stream: Stream) -> bool:
        """Whether the next sample would play at or after the source's end time."""
        end = self.live.end_time
        if end is None:
            return False
        if stream.start_time is None:
            return time.time() + MARGIN_S + self.delay_s >= end
        return stream.media_time(stream.samples_fed) + self.delay_s >= end

    # -- gaps -----------------------------------------------------------------------------------------

    def _record_gaps(self, at: Progress, final: bool) -> None:
        """Each new gap of the feed as a (closed) interruption with its cause and length, and in the
        metrics. The last one waits until it has ended GAP_SETTLE_S ago, unless ``final``."""
        feed = self._feed
        if feed is None:
            return
        now = time.time()
        for gap in feed.gaps:
            if gap.start_time in self._recorded:
                continue
            if not final and gap.start_time + gap.length_s > now - GAP_SETTLE_S:
                continue
            self._recorded.add(gap.start_time)
            if self.metrics is not None:
                self.metrics.live_gaps_total.labels(gap.cause).inc()
                self.metrics.live_gap_seconds_total.labels(gap.cause).inc(gap.length_s)
            cut = Interruption(
                start_time=gap.start_time,
                reason=gap_reason(gap),
                at=at,
                end_time=gap.start_time + gap.length_s,
                resume_mode=ResumeMode.LIVE,
            )
            self._note(EventType.PROGRESS, gap_reason(gap), interrupt=cut)

    def _note(self, event: EventType, message: str, interrupt: Interruption | None = None) -> None:
        try:
            self.store.update_broadcast(
                self.broadcast.id, event, message=message, interrupt=interrupt, expect_states=AIRING_STATES
            )
        except InvalidTransition:  # cut or cancelled meanwhile: the gap is in the metrics, not the log
            log.info("broadcast %s: %s (not logged: %s)", self.broadcast.id, message, "no longer airing")


def resumed_live_s(broadcast: Broadcast, resume: bool, repeat: int, seg_index: int) -> float:
    """Seconds of segment ``seg_index`` aired before this airing (a resume after a cut), else 0."""
    p = broadcast.progress
    if resume and (p.repeat_index, p.segment_index) == (repeat, seg_index):
        return p.live_s
    return 0.0


def progress_message(progress: Progress, live: bool) -> str:
    """The PROGRESS event's message for a new mark."""
    if live:
        return f"segment {progress.segment_index + 1}, live {progress.live_s:.0f} s"
    sentence = f"{progress.sentence_index + 1}/{progress.sentence_count}"
    return f"segment {progress.segment_index + 1}, sentence {sentence}"
