"""Airs broadcasts: applies the scheduling policy, synthesizes, streams, and records how far each got.

One planner thread wakes when something changes (a broadcast created or cancelled, an airing ended) or
at the next scheduled start, asks :func:`engine.jobs.policy.plan` what to do, and applies it: preempted
airings stop at once, new ones each get a thread. An airing thread synthesizes its segments piece by
piece and feeds the paced sender as soon as each piece is ready, so the first packet does not wait for
the whole bulletin, and it writes progress (the sentence now playing) to the store as playout reaches it.
The store is the only shared state: a crash leaves it saying where each broadcast was cut.

Timing: a broadcast's first sample plays at its start time. The sender's media time runs one playout
delay ahead of what speakers play, so a scheduled stream starts at ``air_at - playout_delay`` and
synthesis starts ``LEAD_S`` before that; an immediate broadcast starts as soon as its first piece is
ready.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from engine.jobs import policy
from engine.jobs.model import AIRING_STATES, Broadcast, BroadcastState, EventType, Group, Progress, ResumeMode
from engine.jobs.store import InvalidTransition, Store
from engine.metrics import ServerMetrics
from engine.tts.recorded import decode_audio
from engine.tts.synthesizer import SpeechRequest, Synthesizer
from engine.tts.text import sentences
from streaming.opus import OpusSettings
from streaming.sender import Destination, PacedSender, Stream

log = logging.getLogger(__name__)

LEAD_S = 2.0  # synthesis of a scheduled broadcast starts this long before its stream must start
RATE = 48_000
_POLL_S = 0.02
_IDLE_WAKE_S = 1.0  # plan at least this often, whatever happens
_STREAMS_REMEMBERED = 4096


class Stopped(Exception):
    """The airing was told to stop: preempted, cancelled, or the server is shutting down."""


class Runner:
    def __init__(
        self,
        store: Store,
        synth: Synthesizer,
        sender: PacedSender,
        metrics: ServerMetrics | None = None,
        cname: str = "loa-server",
        default_sentence_pause_s: float = 0.3,
    ) -> None:
        self.store = store
        self.synth = synth
        self.sender = sender
        self.metrics = metrics
        self.cname = cname
        self.default_sentence_pause_s = default_sentence_pause_s
        self._airings: dict[str, _Airing] = {}
        self._stream_groups: OrderedDict[int, tuple[str, ...]] = OrderedDict()  # SSRC → groups, newest last
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loa-runner", daemon=True)

    def start(self) -> Runner:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Plan again now (after a create, cancel or group change)."""
        self._wake.set()

    def stop(self, grace_s: float = 5.0) -> None:
        """Stops planning; airings get ``grace_s`` to finish, then are cut with their progress saved.

        A cut airing stays ON_AIR in the store, so the next start records the interruption and resumes it
        from the sentence it was in.
        """
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        deadline = time.monotonic() + grace_s
        for airing in self.airings():
            airing.join(max(0.0, deadline - time.monotonic()))
        for airing in self.airings():
            airing.stop("server shutting down")
            airing.join(5.0)

    def stream_groups(self, ssrc: int) -> tuple[str, ...]:
        """The groups a stream went to, by its SSRC: how a speaker's receiver report finds its group."""
        with self._lock:
            return self._stream_groups.get(ssrc, ())

    def _opened(self, stream: Stream, group_ids: tuple[str, ...]) -> None:
        with self._lock:
            self._stream_groups[stream.ssrc] = group_ids
            while len(self._stream_groups) > _STREAMS_REMEMBERED:
                self._stream_groups.popitem(last=False)

    def airings(self) -> list[_Airing]:
        with self._lock:
            return list(self._airings.values())

    # -- planning -------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                wakeup = self._plan_once()
            except Exception:
                log.exception("planning failed; retrying")
                wakeup = None
            timeout = _IDLE_WAKE_S if wakeup is None else min(_IDLE_WAKE_S, max(0.0, wakeup - time.time()))
            self._wake.wait(timeout)

    def _plan_once(self) -> float | None:
        active = self.store.active_broadcasts()
        emergency = self.store.emergency_group()
        by_id = {b.id: b for b in active}
        with self._lock:
            # Cancelled (or otherwise ended) broadcasts still airing: stop them.
            for bid, airing in list(self._airings.items()):
                if bid not in by_id:
                    airing.stop("cancelled")
        decided = policy.plan(
            time.time(), active, emergency_group_id=emergency.id if emergency else None, lead_s=LEAD_S
        )
        for cut in decided.preempt:
            self._preempt(cut, by_id)
        for chosen in decided.start + decided.resume:
            self._launch(by_id[chosen.broadcast_id], chosen)
        self._report_queue(active)
        return decided.next_wakeup

    def _preempt(self, cut: policy.Preemption, by_id: dict[str, Broadcast]) -> None:
        with self._lock:
            airing = self._airings.get(cut.broadcast_id)
        if airing is not None:
            airing.stop(f"preempted by {cut.by_broadcast_id}")
            airing.join(5.0)
        with contextlib.suppress(InvalidTransition):
            self.store.preempt_broadcast(cut.broadcast_id, by_id[cut.by_broadcast_id])
            if self.metrics:
                self.metrics.preemptions_total.labels(by_id[cut.broadcast_id].priority.name.lower()).inc()

    def _launch(self, broadcast: Broadcast, airing: policy.Airing) -> None:
        groups = [self.store.get_group(g) for g in airing.group_ids]
        try:
            if airing.resuming:
                broadcast = self.store.update_broadcast(
                    broadcast.id,
                    EventType.RESUMED,
                    state=BroadcastState.SYNTHESIZING,
                    resume_mode=ResumeMode.FROM_SENTENCE,
                    message=f"resumed from sentence {broadcast.progress.sentence_index + 1}",
                )
            else:
                broadcast = self.store.update_broadcast(
                    broadcast.id, EventType.SYNTHESIZING, state=BroadcastState.SYNTHESIZING
                )
        except InvalidTransition:
            return
        thread = _Airing(self, broadcast, groups, airing.air_at, resume=airing.resuming)
        with self._lock:
            self._airings[broadcast.id] = thread
        thread.start()

    def _ended(self, airing: _Airing) -> None:
        with self._lock:
            if self._airings.get(airing.broadcast.id) is airing:
                del self._airings[airing.broadcast.id]
        self._wake.set()

    def _report_queue(self, active: list[Broadcast]) -> None:
        if not self.metrics:
            return
        for priority in ("normal", "high", "emergency"):
            waiting = sum(
                1
                for b in active
                if b.priority.name.lower() == priority
                and b.state in (BroadcastState.QUEUED, BroadcastState.PREEMPTED)
            )
            airing = sum(
                1 for b in active if b.priority.name.lower() == priority and b.state in AIRING_STATES
            )
            self.metrics.queue_depth.labels(priority).set(waiting)
            self.metrics.on_air.labels(priority).set(airing)


@dataclasses.dataclass
class _Mark:
    sample: int  # stream sample where this sentence starts
    progress: Progress


class _Airing(threading.Thread):
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
            self.runner._ended(self)

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
        destinations = [
            Destination(g.multicast_address, g.port, g.ttl, g.interface or None) for g in self.groups
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
        )
        self.runner._opened(stream, tuple(g.id for g in self.groups))
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
            sentence_pause_s=self.runner.default_sentence_pause_s if pause is None else pause,
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
