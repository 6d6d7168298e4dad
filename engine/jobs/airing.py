"""One broadcast on air: its segments, synthesized piece by piece and fed to one stream, repeated.

Started by the Runner, one thread per airing. It feeds the paced sender as soon as each piece is ready,
so the first packet does not wait for the whole bulletin, and writes progress (the sentence now playing)
to the store as playout reaches it, so a cut (preemption, cancel, crash) knows where to resume.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from engine.jobs.errors import InvalidTransition
from engine.jobs.model import AIRING_STATES, Broadcast, BroadcastState, EventType, Group, Progress
from engine.tts.recorded import decode_audio
from engine.tts.synthesizer import DEFAULT_SENTENCE_PAUSE_S, SpeechRequest
from engine.tts.text import sentences
from streaming.opus import OpusSettings
from streaming.packetizer import Destination, Stream

if TYPE_CHECKING:
    from engine.jobs.runner import Runner

log = logging.getLogger(__name__)

RATE = 48_000
_POLL_S = 0.02


class Stopped(Exception):
    """The airing was told to stop: preempted, cancelled, or the server is shutting down."""


@dataclasses.dataclass
class _Mark:
    sample: int  # stream sample where this sentence starts
    progress: Progress


class OnAir(threading.Thread):
    """One broadcast on air: its segments, repeated, to its groups' one stream."""

    def __init__(
        self, runner: Runner, broadcast: Broadcast, groups: list[Group], air_at: float, resume: bool
    ) -> None:
        super().__init__(name=f"loa-airing-{broadcast.id[:8]}", daemon=True)
        self.runner = runner
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
        self._marks: list[_Mark] = []
        self._reported = -1
        self._aired_before = broadcast.progress.aired_s
        self._on_air = broadcast.state == BroadcastState.ON_AIR

    def stop(self, reason: str) -> None:
        self._stop_reason = reason
        self._cancel.set()
        stream = self._stream
        if stream is not None:
            stream.abort()

    # -- the airing -----------------------------------------------------------------------------------

    def run(self) -> None:
        store = self.runner.store
        b = self.broadcast
        try:
            self._air()
            store.update_broadcast(
                b.id,
                EventType.FINISHED,
                state=BroadcastState.FINISHED,
                progress=self._last_progress(total=True),
                repeats_done=b.spec.repeat_count,
                expect_states=AIRING_STATES,
            )
            self._count("finished")
        except Stopped:
            pass
        except InvalidTransition:
            # Cancelled or preempted under us: the store already says so.
            pass
        except Exception as exc:
            log.exception("broadcast %s failed", b.id)
            with contextlib.suppress(InvalidTransition):
                store.update_broadcast(
                    b.id,
                    EventType.FAILED,
                    state=BroadcastState.FAILED,
                    failure_reason=f"{type(exc).__name__}: {exc}",
                    progress=self._last_progress(),
                    message=str(exc),
                )
            self._count("failed")
        finally:
            if self._stream is not None and not self._stream.done.is_set():
                self._stream.abort()
            self.runner.airing_ended(self)

    def _air(self) -> None:
        b = self.broadcast
        spec = b.spec
        start = b.progress if self.resume else Progress()
        for repeat in range(start.repeat_index, spec.repeat_count):
            first_segment = start.segment_index if repeat == start.repeat_index else 0
            self._stream = self._open_stream(self.air_at if repeat == start.repeat_index else time.time())
            for seg_index in range(first_segment, len(spec.segments)):
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
            if repeat + 1 < spec.repeat_count:
                self.runner.store.update_broadcast(
                    b.id, EventType.PROGRESS, repeats_done=repeat + 1, message=f"airing {repeat + 1} done"
                )
                self._sleep(spec.repeat_gap_s)

    def _open_stream(self, air_at: float) -> Stream:
        first = self.groups[0]
        # a group with SRTP keys gets SRTP; every stream has a fresh SSRC, so resumed airings never
        # reuse a nonce under the same key
        destinations = [
            Destination(g.multicast_address, g.port, g.ttl, g.interface or None, self.runner.key_source(g.id))
            for g in self.groups
        ]
        codec = OpusSettings(
            bitrate=first.opus_bitrate_bps,
            fec=first.fec,
            expected_loss_percent=first.expected_loss_percent,
        )
        media_start = air_at - self.delay_s
        start_time = media_start if media_start > time.time() + 0.1 else None
        self._marks = []
        self._reported = -1
        stream = self.runner.sender.open_stream(
            destinations,
            codec,
            priority=int(self.broadcast.priority),
            cname=self.runner.cname,
            start_time=start_time,
            groups=tuple(g.id for g in self.groups),
        )
        return stream

    def _segment_audio(
        self, repeat: int, seg_index: int, first_sentence: int, chime: bool
    ) -> Iterator[tuple[Progress, np.ndarray]]:
        """(progress at the start of the piece, 48 kHz PCM) for each piece of one segment."""
        segment = self.broadcast.spec.segments[seg_index]
        if segment.audio is not None:
            yield Progress(repeat, seg_index, 0, 1), decode_audio(segment.audio)
            return
        assert segment.text is not None
        language = segment.language or "vi"
        parts = sentences(segment.text, language, segment.dialect or None)
        count = len(parts)
        if first_sentence >= count:
            return
        offset = parts[first_sentence].source_span.start
        pause = self.broadcast.spec.sentence_pause_s
        request = SpeechRequest(
            text=segment.text[offset:],
            language=language,
            dialect=segment.dialect or None,
            voice_id=segment.voice_id or None,
            speaker=segment.speaker or None,
            speed=segment.speed,
            noise_scale=segment.noise_scale,
            noise_w=segment.noise_w,
            sentence_pause_s=DEFAULT_SENTENCE_PAUSE_S if pause is None else pause,
            chime=chime,
        )
        pieces = self.runner.synth.stream(request, priority=int(self.broadcast.priority), cancel=self._cancel)
        for piece in pieces:
            self._check_stopped()
            index = min(first_sentence + piece.sentence_index, count - 1)
            yield Progress(repeat, seg_index, index, count), piece.audio
        self._check_stopped()
        # Silence between segments, as between sentences.
        yield (
            Progress(repeat, seg_index, count - 1, count),
            np.zeros(int(RATE * request.sentence_pause_s), np.float32),
        )

    def _feed(self, progress: Progress, pcm: np.ndarray) -> None:
        stream = self._stream
        assert stream is not None
        if not self._marks or self._marks[-1].progress != progress:
            self._marks.append(_Mark(stream.samples_fed, progress))
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
        if self._last is not None:
            self._aired_before = self._last.aired_s  # the next airing (repeat) counts on from here

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            self._check_stopped()

    def _check_stopped(self) -> None:
        if self._stop_reason is not None:
            raise Stopped(self._stop_reason)

    # -- progress -------------------------------------------------------------------------------------

    def _playing_sample(self, stream: Stream) -> int:
        if stream.start_time is None:
            return -1
        return int((time.time() - stream.start_time - self.delay_s) * RATE)

    def _report_progress(self, stream: Stream, everything: bool = False) -> None:
        """Keeps the progress of what plays now; writes it to the store when a new sentence starts."""
        playing = stream.samples_fed if everything else self._playing_sample(stream)
        current = max((i for i, m in enumerate(self._marks) if m.sample <= playing), default=-1)
        if current < 0:
            return
        aired = self._aired_before + max(0, min(playing, stream.samples_fed)) / RATE
        progress = self._last = dataclasses.replace(self._marks[current].progress, aired_s=aired)
        if current <= self._reported:
            return
        self._reported = current
        store = self.runner.store
        if not self._on_air:
            self._on_air = True
            assert stream.start_time is not None
            store.update_broadcast(
                self.broadcast.id,
                EventType.ON_AIR,
                state=BroadcastState.ON_AIR,
                progress=progress,
                air_time=stream.start_time + self.delay_s,
                expect_states=AIRING_STATES,
            )
            self._playout_metrics(stream)
        else:
            store.update_broadcast(
                self.broadcast.id,
                EventType.PROGRESS,
                state=BroadcastState.ON_AIR,
                progress=progress,
                message=(
                    f"segment {progress.segment_index + 1}, sentence {progress.sentence_index + 1}"
                    f"/{progress.sentence_count}"
                ),
                expect_states=AIRING_STATES,
            )

    def _last_progress(self, total: bool = False) -> Progress:
        last = self._last or self.broadcast.progress
        if total:
            return dataclasses.replace(last, total_s=last.aired_s)
        return last

    # -- metrics --------------------------------------------------------------------------------------

    def _reference_time(self) -> float:
        return max(self.broadcast.create_time, self.broadcast.start_time)

    def _first_packet_metrics(self, stream: Stream) -> None:
        metrics = self.runner.metrics
        if self._first_packet_seen or stream.first_packet_time is None or metrics is None or self.resume:
            return
        self._first_packet_seen = True
        label = self.broadcast.priority.name.lower()
        metrics.request_to_first_packet_seconds.labels(label).observe(
            max(0.0, stream.first_packet_time - self._reference_time())
        )

    def _playout_metrics(self, stream: Stream) -> None:
        metrics = self.runner.metrics
        if metrics is None or stream.start_time is None or self.resume:
            return
        playout = stream.start_time + self.delay_s
        label = self.broadcast.priority.name.lower()
        metrics.request_to_playout_seconds.labels(label).observe(max(0.0, playout - self._reference_time()))
        if self.broadcast.spec.start_time is not None:
            metrics.start_lateness_seconds.observe(max(0.0, playout - self.broadcast.start_time))

    def _count(self, state: str) -> None:
        if self.runner.metrics:
            self.runner.metrics.broadcasts_total.labels(self.broadcast.priority.name.lower(), state).inc()
