"""One broadcast on air: its segments, synthesized piece by piece and fed to one stream, repeated.

Started by the Runner, one thread per airing, with what it needs passed in (:class:`Studio`). It feeds
the paced sender as soon as each piece is ready, so the first packet does not wait for the whole
bulletin, and writes progress (the sentence now playing, engine.jobs.progress) to the store as playout
reaches it, so a cut (preemption, cancel, crash) knows where to resume.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.jobs.ahead import Prepared, PreparedAirings
from engine.jobs.errors import InvalidTransition
from engine.jobs.heard import Heard, heard_of
from engine.jobs.live_segment import FeedFactory, LiveSegment, progress_message, resumed_live_s
from engine.jobs.model import (
    AIRING_STATES,
    TERMINAL_STATES,
    Broadcast,
    BroadcastState,
    EventType,
    Group,
    Progress,
)
from engine.jobs.progress import Timeline, playing_sample
from engine.jobs.segment_audio import segment_audio
from engine.jobs.store import Store
from engine.live.feed import LiveSourceFailed
from engine.metrics import ServerMetrics
from engine.tts.synthesizer import Synthesizer
from streaming.ahead import Plan
from streaming.opus import OpusSettings
from streaming.packetizer import Destination, Stream
from streaming.priority import Priority
from streaming.srtp import MasterKey

log = logging.getLogger(__name__)

_POLL_S = 0.02

KeySource = Callable[[str], Callable[[], Sequence[MasterKey]] | None]


class OpenStream(Protocol):
    """Opens a stream for an airing: ``(destinations, codec, priority, start_time, group_ids) → Stream``."""

    def __call__(
        self,
        destinations: list[Destination],
        codec: OpusSettings,
        priority: Priority,
        start_time: float | None,
        group_ids: tuple[str, ...],
        label: str = "",  # "{broadcast id}/{airing}", told to speakers for their play reports
        plan: Plan | None = None,  # a stream rendered ahead: its SSRC, seq0, ts0 and start (ahead.py)
    ) -> Stream: ...


@dataclass(frozen=True)
class Studio:
    """What every airing uses, handed in by the Runner: nothing reaches back into it."""

    store: Store
    synth: Synthesizer
    open_stream: OpenStream
    key_source: KeySource  # group id → what its Destination polls for SRTP keys (None: plain RTP)
    metrics: ServerMetrics | None
    ended: Callable[[OnAir], None]  # told when an airing thread ends, however it ends
    ahead: PreparedAirings | None = None  # bulletins delivered ahead (ahead_planner.py), broker on
    live_feed: FeedFactory | None = None  # a live segment's source (live_segment.py); None: none here


class Stopped(Exception):
    """The airing was told to stop: preempted, cancelled, or the server is shutting down."""


class OnAir(threading.Thread):
    """One broadcast on air: its segments, repeated, to its groups' one stream."""

    def __init__(
        self, studio: Studio, broadcast: Broadcast, groups: list[Group], air_at: float, resume: bool
    ) -> None:
        super().__init__(name=f"loa-airing-{broadcast.id[:8]}", daemon=True)
        self.studio = studio
        self.broadcast = broadcast
        self.groups = groups
        self.air_at = air_at
        self.resume = resume
        self.delay_s = max(g.playout_delay_s for g in groups)
        self._stop_reason: str | None = None
        self._last: Progress | None = None
        self._first_packet_seen = False
        self._cancel = threading.Event()
        self._stream: Stream | None = None
        self._prepared: Prepared | None = None  # the first airing, delivered ahead: its stored stream
        self._timeline = Timeline(aired_before=broadcast.progress.aired_s)
        self._on_air = broadcast.state == BroadcastState.ON_AIR
        self._live: LiveSegment | None = None  # the live segment on air now, if any
        self._heard: Heard | None = None  # what speakers heard of this airing's earlier streams (repeats)
        self._marked: Heard | None = None  # the heard mark last written

    def stop(self, reason: str) -> None:
        self._stop_reason = reason
        self._cancel.set()
        live = self._live
        if live is not None:
            live.close()
        stream = self._stream
        if stream is not None:
            stream.abort()

    # -- the airing -----------------------------------------------------------------------------------

    def run(self) -> None:
        store = self.studio.store
        b = self.broadcast
        try:
            self._air()
            heard = self.heard()
            store.update_broadcast(
                b.id,
                EventType.FINISHED,
                state=BroadcastState.FINISHED,
                progress=self._last_progress(total=True),
                repeats_done=b.spec.repeat_count,
                end_time=heard.until if heard is not None else None,  # the last sample speakers played
                expect_states=AIRING_STATES,
            )
            self._count("finished")
        except Stopped:
            self.write_mark()  # a shutdown leaves it on air: the next start reads where speakers stopped
        except InvalidTransition:
            # Cancelled or preempted under us: the store already says so.
            pass
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, LiveSourceFailed):  # its message is the reason, e.g. "live.url: refused"
                log.warning("broadcast %s failed: %s", b.id, exc)
                reason = str(exc)
            else:
                log.exception("broadcast %s failed", b.id)
            if self._stream is not None:
                self._stream.abort()  # first, so that what speakers heard stops growing
            heard, progress = self.heard(), self._last_progress()
            with contextlib.suppress(InvalidTransition):
                store.update_broadcast(
                    b.id,
                    EventType.FAILED,
                    state=BroadcastState.FAILED,
                    failure_reason=reason,
                    progress=dataclasses.replace(progress, aired_s=heard.aired_s) if heard else progress,
                    end_time=heard.until if heard is not None else None,
                    message=str(exc),
                )
            self._count("failed")
        finally:
            if self._stream is not None and not self._stream.done.is_set():
                self._stream.abort()
            self._release_prepared()
            self._forget_mark_if_ended()
            self.studio.ended(self)

    def _air(self) -> None:
        b = self.broadcast
        spec = b.spec
        start = b.progress if self.resume else Progress()
        for repeat in range(start.repeat_index, spec.repeat_count):
            first_segment = start.segment_index if repeat == start.repeat_index else 0
            air_at = self.air_at if repeat == start.repeat_index else time.time()
            self._prepared = self._take_prepared(repeat, air_at)
            self._stream = self._open_stream(air_at, repeat)
            if self._prepared is not None:  # delivered ahead: its stored frames, nothing to synthesize
                self._feed_prepared(self._prepared)
                first_segment = len(spec.segments)
            for seg_index in range(first_segment, len(spec.segments)):
                if spec.segments[seg_index].live is not None:
                    self._air_live(repeat, seg_index)
                    continue
                first_sentence = (
                    start.sentence_index
                    if (repeat, seg_index) == (start.repeat_index, start.segment_index)
                    else 0
                )
                chime = spec.chime and seg_index == 0 and first_sentence == 0
                for progress, pcm in self._segment_audio(repeat, seg_index, first_sentence, chime):
                    self._feed(progress, pcm)
            self._stream.finish()
            self._drain(self._stream)
            self._release_prepared()  # the clusters' copies are cleared at the end of this airing
            if repeat + 1 < spec.repeat_count:
                self.studio.store.update_broadcast(
                    b.id, EventType.PROGRESS, repeats_done=repeat + 1, message=f"airing {repeat + 1} done"
                )
                self._sleep(spec.repeat_gap_s)

    def _open_stream(self, air_at: float, repeat: int = 0) -> Stream:
        first = self.groups[0]
        # a group with SRTP keys gets SRTP; every stream has a fresh SSRC, so resumed airings never
        # reuse a nonce under the same key
        destinations = [
            Destination(g.multicast_address, g.port, g.ttl, g.interface or None, self.studio.key_source(g.id))
            for g in self.groups
        ]
        codec = OpusSettings(
            bitrate=first.opus_bitrate_bps,
            fec=first.fec,
            expected_loss_percent=first.expected_loss_percent,
        )
        media_start = air_at - self.delay_s
        start_time = media_start if media_start > time.time() + 0.1 else None
        aired = self._last.aired_s if self._last is not None else self.broadcast.progress.aired_s
        self._heard = self.heard()  # before the timeline moves on: the stream ending now
        self._timeline = Timeline(aired_before=aired)  # the next airing (repeat) counts on from here
        return self.studio.open_stream(
            destinations,
            codec,
            self.broadcast.priority,
            start_time,
            tuple(g.id for g in self.groups),
            label=f"{self.broadcast.id}/{repeat}",  # the airing is the 0-based repeat, as Progress counts
            plan=self._prepared.plan if self._prepared is not None else None,
        )

    def _take_prepared(self, repeat: int, air_at: float) -> Prepared | None:
        """Only the first airing of a bulletin never cut goes out as delivered ahead; anything else goes
        live under a fresh SSRC (one SSRC must never carry two different streams: ahead.py)."""
        ahead = self.studio.ahead
        if ahead is None or repeat != 0 or self.resume:
            return None
        return ahead.take(self.broadcast.id, tuple(g.id for g in self.groups), air_at - self.delay_s)

    def _feed_prepared(self, prepared: Prepared) -> None:
        stream = self._stream
        assert stream is not None
        for mark in prepared.marks:  # the progress of each piece, as synthesis would have marked it
            self._timeline.mark(mark.sample, mark.progress)
        stream.feed_encoded(prepared.frames)
        self._first_packet_metrics(stream)
        self._report_progress(stream)

    def _release_prepared(self) -> None:
        if self._prepared is not None and self.studio.ahead is not None:
            self.studio.ahead.release(self.broadcast.id)
        self._prepared = None

    def _segment_audio(
        self, repeat: int, seg_index: int, first_sentence: int, chime: bool
    ) -> Iterator[tuple[Progress, np.ndarray]]:
        """(progress at the start of the piece, 48 kHz PCM) for each piece of one segment, from its
        sentence ``first_sentence`` on (segment_audio.py)."""
        studio = self.studio
        return segment_audio(
            studio.store, studio.synth, self.broadcast, repeat, seg_index, first_sentence, chime,
            self._cancel, self._check_stopped,
        )  # fmt: skip

    def _air_live(self, repeat: int, seg_index: int) -> None:
        """A live segment: a new feed of its source (joining it at the present), fed as it comes."""
        stream = self._stream
        assert stream is not None
        studio = self.studio
        b, delay = self.broadcast, self.delay_s
        done = resumed_live_s(b, self.resume, repeat, seg_index)
        live = LiveSegment(studio.live_feed, studio.store, studio.metrics, b, repeat, seg_index, done, delay)
        self._live = live
        try:
            self._check_stopped()
            for progress, pcm in live.audio(stream, self._check_stopped):
                self._feed(progress, pcm)
        finally:
            self._live = None
            live.close()

    def _feed(self, progress: Progress, pcm: np.ndarray) -> None:
        stream = self._stream
        assert stream is not None
        self._timeline.mark(stream.samples_fed, progress)
        stream.feed(pcm)
        self._first_packet_metrics(stream)
        self._report_progress(stream)

    def _drain(self, stream: Stream) -> None:
        while not stream.wait(_POLL_S):
            self._check_stopped()
            self._first_packet_metrics(stream)
            self._report_progress(stream)
        self._check_stopped()
        self._report_progress(stream, everything=True)

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            self._check_stopped()

    def _check_stopped(self) -> None:
        if self._stop_reason is not None:
            raise Stopped(self._stop_reason)

    # -- progress -------------------------------------------------------------------------------------

    def _report_progress(self, stream: Stream, everything: bool = False) -> None:
        """Keeps the progress of what plays now; writes it to the store when a new sentence starts."""
        playing = (
            stream.samples_fed if everything else playing_sample(time.time(), stream.start_time, self.delay_s)
        )
        now = self._timeline.at(playing, stream.samples_fed)
        if now is None:
            return
        progress, new = now
        self._last = progress
        if not new:
            return
        store = self.studio.store
        if not self._on_air:
            self._on_air = True
            assert stream.start_time is not None
            first_heard = stream.start_time + self.delay_s  # sample 0 plays one playout delay after
            store.update_broadcast(
                self.broadcast.id,
                EventType.ON_AIR,
                state=BroadcastState.ON_AIR,
                progress=progress,
                air_time=first_heard,  # the store keeps the first airing's: a resume's is not it
                resumed_at=first_heard if self.resume else None,  # the end of the cut it resumes from
                expect_states=AIRING_STATES,
            )
            self._playout_metrics(stream)
        else:
            store.update_broadcast(
                self.broadcast.id,
                EventType.PROGRESS,
                state=BroadcastState.ON_AIR,
                progress=progress,
                message=progress_message(
                    progress, self.broadcast.spec.segments[progress.segment_index].live is not None
                ),
                expect_states=AIRING_STATES,
            )

    # -- what the speakers heard (heard.py) ----------------------------------------------------------

    def heard(self) -> Heard | None:
        """What speakers heard of this broadcast up to the last sample sent; None before anything.
        Called from other threads too (the mark writer, the runner after a preemption)."""
        stream = self._stream
        now = heard_of(stream, self.delay_s, self._timeline.aired_before) if stream is not None else None
        return now if now is not None else self._heard

    def write_mark(self) -> None:
        """Writes what speakers heard to the store's heard marks when it changed (runner's ticker)."""
        marks, heard = self.studio.store.heard, self.heard()
        if marks is not None and heard is not None and heard != self._marked:
            marks.write(self.broadcast.id, heard)
            self._marked = heard

    def _forget_mark_if_ended(self) -> None:
        """Once the stream is stopped: an ended broadcast's mark goes, and a cancelled one ends when its
        speakers went silent (its end_time was the cancel's)."""
        store, heard = self.studio.store, self.heard()
        with contextlib.suppress(Exception):  # a mark left behind is swept at the next start
            if store.get_broadcast(self.broadcast.id).state not in TERMINAL_STATES:
                return
            if heard is not None:
                store.end_cancelled_when_heard(self.broadcast.id, heard.until)
            if store.heard is not None:
                store.heard.forget(self.broadcast.id)

    def _last_progress(self, total: bool = False) -> Progress:
        last = self._last or self.broadcast.progress
        if total:
            return dataclasses.replace(last, total_s=last.aired_s)
        return last

    # -- metrics --------------------------------------------------------------------------------------

    def _reference_time(self) -> float:
        return max(self.broadcast.create_time, self.broadcast.start_time)

    def _first_packet_metrics(self, stream: Stream) -> None:
        metrics = self.studio.metrics
        if self._first_packet_seen or stream.first_packet_time is None or metrics is None or self.resume:
            return
        self._first_packet_seen = True
        metrics.request_to_first_packet_seconds.labels(self.broadcast.priority.label).observe(
            max(0.0, stream.first_packet_time - self._reference_time())
        )

    def _playout_metrics(self, stream: Stream) -> None:
        metrics = self.studio.metrics
        if metrics is None or stream.start_time is None or self.resume:
            return
        playout = stream.start_time + self.delay_s
        label = self.broadcast.priority.label
        metrics.request_to_playout_seconds.labels(label).observe(max(0.0, playout - self._reference_time()))
        if self.broadcast.spec.start_time is not None:
            metrics.start_lateness_seconds.observe(max(0.0, playout - self.broadcast.start_time))

    def _count(self, state: str) -> None:
        if self.studio.metrics:
            self.studio.metrics.broadcasts_total.labels(self.broadcast.priority.label, state).inc()
