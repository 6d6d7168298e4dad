"""Text → 48 kHz speech, streamed piece by piece, for many requests at once on a few cores.

How the work is cut and ordered (anchors measured on 2 cores, ../shared/notes/peers.md):

* One worker thread per core, each onnxruntime run on one intra-op thread: with two or more requests in
  flight that beats onnxruntime's default by ~25%. No cross-request batching: on CPU it gained nothing.
* A request is cut into pieces, one per sentence; a long first sentence is cut at clause boundaries, and
  its first clause once more after its first few words, so the first audio comes early. Pieces run in
  order and at most ``lookahead`` ahead of what the caller has taken, so a cancelled or abandoned request
  stops costing CPU within a piece.
* A first piece that finds every worker idle and no other request queued runs alone on all cores (the
  voice's all-cores session) while the other workers wait: alone, a bulletin starts speaking as fast as
  the machine allows (on 2 cores ~0.07 s instead of ~0.1 s for a 3-word piece), and under load no run
  ever shares the cores with a multi-threaded one (that oversubscribes: ../shared/notes/peers.md).
* One queue for all requests, ordered: emergency pieces, then the first piece of any request, then later
  pieces; within that by priority, then by arrival. A new bulletin starts speaking while long ones run.
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from engine.tts import audio as audio_ops
from engine.tts.cache import SpeechCache, cache_key
from engine.tts.voices.base import SynthesisOptions, Voice, language_code
from engine.tts.voices.onnx import default_intra_op_threads, default_workers
from engine.tts.voices.registry import VoiceRegistry

EMERGENCY = 3
PRIORITIES = range(4)  # 0 normal .. 3 emergency, as in the API
FIRST_CLAUSE_SPLIT_CHARS = 60  # a first sentence longer than this is spoken clause by clause
FIRST_PIECE_CHARS = 12  # ...and its first clause cut at the first word boundary past this (~1 s of speech)
_MIN_REST_CHARS = 16  # unless what is left of the clause would be shorter than this
_CLAUSE_PAUSE_S = 0.12  # after a clause that ends in , ; : (a cut between two words gets none)
# Where a cut is a word boundary: English spaces separate words; Vietnamese spaces separate syllables,
# so only before a function word that does not end a compound (not "tại": hiện tại; not "khi": sau khi).
_PHRASE_STARTS: dict[str, frozenset[str] | None] = {
    "en": None,  # any space
    "vi": frozenset({"và", "các", "của", "đã", "sẽ", "đang", "để", "nhưng", "hoặc", "nếu", "cho"}),
}
# Ordinary phrases per language, each shorter than everyday sentences: long enough together to measure
# loudness, short enough that calibrating does not grow onnxruntime's memory arena beyond what speech needs.
_CALIBRATION = {
    "vi": ("Ủy ban nhân dân xã thông báo", "lịch tiêm chủng cho trẻ em trong tháng này."),
    "en": ("The commune office announces", "the vaccination schedule for children this month."),
    "km": ("នេះជាសេចក្តីជូនដំណឹងពីឃុំ", "អំពីការចាក់វ៉ាក់សាំងសម្រាប់កុមារ។"),
    "yue": ("今個月嘅兒童疫苗接種時間表", "已經公佈。"),
}


DEFAULT_SENTENCE_PAUSE_S = 0.3  # when a request names none; `loa say --pause` repeats it (light --help)


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    language: str = "vi"
    dialect: str | None = None
    voice_id: str | None = None
    speaker: str | int | None = None
    speed: float | None = None
    noise_scale: float | None = None
    noise_w: float | None = None
    sentence_pause_s: float = DEFAULT_SENTENCE_PAUSE_S
    chime: bool = False

    def __post_init__(self) -> None:
        if not self.text or not self.text.strip():
            raise ValueError("text: empty")
        if not 0.0 <= self.sentence_pause_s <= 10.0:
            raise ValueError(f"sentence_pause_s must be between 0 and 10 s, got {self.sentence_pause_s}")
        self.options()  # validates speed and noise

    def options(self) -> SynthesisOptions:
        return SynthesisOptions(self.speaker, self.speed, self.noise_scale, self.noise_w)


@dataclass(frozen=True)
class SpeechPiece:
    audio: np.ndarray  # float32 mono, 48 kHz, pause (and chime) included
    sentence_index: int
    source_span: Any  # engine.tts.text.Span: where in the request's text this came from
    text: str  # spoken form
    warnings: tuple[str, ...]
    last: bool
    cached: bool = False
    sample_rate: int = audio_ops.OUTPUT_RATE


@dataclass(frozen=True)
class Speech:
    audio: np.ndarray
    normalized_text: str
    warnings: tuple[str, ...]
    voice_id: str
    cached: bool
    sample_rate: int = audio_ops.OUTPUT_RATE


@dataclass
class _Plan:
    text: str
    sentence_index: int
    source_span: Any
    warnings: tuple[str, ...]
    pause_s: float
    first: bool


@dataclass
class _Job:
    """One piece to synthesize; ``done`` is set when ``audio`` or ``error`` is ready (or it was dropped)."""

    voice: Voice
    plan: _Plan
    options: SynthesisOptions
    key: str
    cancelled: threading.Event
    done: threading.Event = field(default_factory=threading.Event)
    audio: np.ndarray | None = None
    unread: Counter[str] = field(default_factory=Counter)
    error: BaseException | None = None
    compute_s: float = 0.0
    cached: bool = False


class _Metrics:
    def __init__(self, registry: Any) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        r = registry if registry is not None else CollectorRegistry()
        self.rtf = Histogram(
            "loa_tts_real_time_factor",
            "Synthesis compute time over audio duration, per piece",
            ["family"],
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
            registry=r,
        )
        self.first_audio = Histogram(
            "loa_tts_first_audio_seconds",
            "Time from a request to its first audio piece",
            ["priority"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.cache = Counter("loa_tts_cache_lookups", "Speech cache lookups", ["result"], registry=r)
        self.audio_seconds = Counter("loa_tts_audio_seconds", "Seconds of speech produced", registry=r)


class Synthesizer:
    def __init__(
        self,
        voices: VoiceRegistry,
        workers: int | None = None,
        cache: SpeechCache | None = None,
        registry: Any = None,
        *,
        lookahead: int | None = None,
        target_lufs: float = audio_ops.DEFAULT_TARGET_LUFS,
    ) -> None:
        """``workers`` None: one per core. The registry's intra-op threads follow unless set already."""
        self.voices = voices
        self.workers = workers if workers and workers > 0 else default_workers()
        if voices.intra_op_threads is None:
            voices.intra_op_threads = default_intra_op_threads(self.workers)
        self.cache = cache
        self.lookahead = lookahead if lookahead is not None else self.workers
        self.target_lufs = target_lufs
        self.metrics = _Metrics(registry)
        self._queue: list[tuple[tuple[int, int, int], _Job]] = []
        self._cv = threading.Condition()
        self._sequence = itertools.count()
        self._gains: dict[str, float] = {}
        self._gain_lock = threading.Lock()
        self._running = 0  # pieces being synthesized
        self._alone = False  # one of them is running on every core: the other workers wait
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"loa-tts-{i}", daemon=True) for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- public ---------------------------------------------------------------------------------------

    def stream(
        self, request: SpeechRequest, priority: int = 0, cancel: threading.Event | None = None
    ) -> Generator[SpeechPiece, None, None]:
        """Pieces in order, the first as soon as it is ready. Stops early when ``cancel`` is set."""
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be 0..3, got {priority}")
        started = time.perf_counter()
        voice = self.voices.choose(request.language, request.dialect, request.voice_id)
        options = request.options()
        plans = self._plan(request)
        cancelled = threading.Event()
        jobs: list[_Job] = []
        gain = self._gain(voice, request.language)

        def submit(index: int) -> None:
            plan = plans[index]
            key = self._key(voice, options, plan.text, gain)
            job = _Job(voice, plan, options, key, cancelled)
            jobs.append(job)
            hit = self.cache.get(key) if self.cache is not None else None
            if self.cache is not None:
                self.metrics.cache.labels("hit" if hit is not None else "miss").inc()
            if hit is not None:
                job.audio = hit
                job.cached = True
                job.done.set()
                return
            rank = 0 if priority == EMERGENCY else 1 if plan.first else 2
            with self._cv:
                heapq.heappush(self._queue, ((rank, -priority, next(self._sequence)), job))
                self._cv.notify()

        try:
            for index in range(min(self.lookahead, len(plans))):
                submit(index)
            for index, plan in enumerate(plans):
                job = jobs[index]
                while not job.done.wait(0.02):
                    if cancel is not None and cancel.is_set():
                        return
                if cancel is not None and cancel.is_set():
                    return
                if job.error is not None:
                    raise job.error
                if index + self.lookahead < len(plans):
                    submit(index + self.lookahead)
                assert job.audio is not None
                cached = job.cached
                if not cached and self.cache is not None:
                    self.cache.put(job.key, job.audio)
                audio = job.audio
                if index == 0 and request.chime:
                    audio = np.concatenate([audio_ops.chime(target_lufs=self.target_lufs), audio])
                last = index == len(plans) - 1
                if not last and plan.pause_s > 0:
                    audio = np.concatenate([audio, audio_ops.silence(plan.pause_s)])
                if index == 0:
                    self.metrics.first_audio.labels(str(priority)).observe(time.perf_counter() - started)
                warnings = plan.warnings + tuple(_describe_unread(job.unread))
                yield SpeechPiece(
                    audio, plan.sentence_index, plan.source_span, plan.text, warnings, last, cached
                )
        finally:
            cancelled.set()

    def prepare(self, language: str = "vi", dialect: str | None = None, voice_id: str | None = None) -> Voice:
        """Load the voice a request would use and calibrate its loudness now, not on the first request."""
        voice = self.voices.choose(language, dialect, voice_id)
        self._gain(voice, language)
        return voice

    def synthesize(self, request: SpeechRequest, priority: int = 0) -> Speech:
        """The whole request as one array (the streamed pieces, joined)."""
        pieces = list(self.stream(request, priority))
        voice = self.voices.choose(request.language, request.dialect, request.voice_id)
        return Speech(
            audio=np.concatenate([p.audio for p in pieces]) if pieces else np.zeros(0, np.float32),
            normalized_text=" ".join(_unique_sentences(pieces)),
            warnings=tuple(w for p in pieces for w in p.warnings),
            voice_id=voice.info.id,
            cached=bool(pieces) and all(p.cached for p in pieces),
        )

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------------

    def _plan(self, request: SpeechRequest) -> list[_Plan]:
        sentences = _segment(request.text, request.language, request.dialect)
        plans: list[_Plan] = []
        for index, sentence in enumerate(sentences):
            warnings = tuple(str(getattr(w, "message", w)) for w in sentence.warnings)
            if not sentence.text.strip():
                continue
            if index == 0 and len(sentence.text) > FIRST_CLAUSE_SPLIT_CHARS and len(sentence.clauses) > 1:
                parts = [(c.text, c.source_span) for c in sentence.clauses if c.text.strip()]
            else:
                parts = [(sentence.text, sentence.source_span)]
            if not plans:
                parts[:1] = _cut_first(*parts[0], request.text, request.language)
            for i, (text, span) in enumerate(parts):
                if i == len(parts) - 1:
                    pause = request.sentence_pause_s
                else:
                    pause = _CLAUSE_PAUSE_S if text.rstrip().endswith((",", ";", ":")) else 0.0
                plans.append(_Plan(text, index, span, warnings if i == 0 else (), pause, not plans))
        if not plans:
            raise ValueError("text: nothing speakable in it")
        return plans

    def _key(self, voice: Voice, options: SynthesisOptions, text: str, gain: float) -> str:
        return cache_key(
            text=text,
            voice=voice.info.id,
            speaker=options.speaker,
            speed=options.speed,
            noise_scale=options.noise_scale,
            noise_w=options.noise_w,
            rate=audio_ops.OUTPUT_RATE,
            gain=round(gain, 6),
        )

    def _gain(self, voice: Voice, language: str) -> float:
        """The voice's fixed gain to the broadcast target, measured once on a calibration text.

        It runs on the voice's all-cores session when it has one, so that session is made and warmed
        with the voice, not during the first bulletin."""
        with self._gain_lock:
            gain = self._gains.get(voice.info.id)
            if gain is None:
                phrases = _CALIBRATION.get(voice.info.language, _CALIBRATION.get(language, ()))
                synthesize = getattr(voice, "synthesize_alone", voice.synthesize)
                outs = [synthesize(phrase, SynthesisOptions()) for phrase in phrases]
                speech = np.concatenate(
                    [audio_ops.resample(o.audio, o.sample_rate) for o in outs] or [np.zeros(0, np.float32)]
                )
                level = audio_ops.loudness(speech) if speech.size else -70.0
                gain = audio_ops.gain_for(level, self.target_lufs)
                self._gains[voice.info.id] = gain
            return gain

    def _work(self) -> None:
        while True:
            with self._cv:
                while (not self._queue or self._alone) and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                _, job = heapq.heappop(self._queue)
                # Idle machine, first piece: run it on every core while the other workers wait. Idle means
                # nothing running and nothing queued but this request's own next pieces; otherwise (say 16
                # bulletins at once) every first piece would take its turn alone.
                alone = (
                    self.workers > 1
                    and job.plan.first
                    and self._running == 0
                    and all(queued.cancelled is job.cancelled for _, queued in self._queue)
                )
                self._alone = alone
                self._running += 1
            try:
                if not job.cancelled.is_set():
                    self._run(job, alone)
            except BaseException as error:  # handed to the request's thread, which raises it
                job.error = error
            finally:
                with self._cv:  # before done: the request's next piece must find this worker free
                    self._running -= 1
                    if alone:
                        self._alone = False
                        self._cv.notify_all()
                job.done.set()

    def _run(self, job: _Job, alone: bool = False) -> None:
        start = time.perf_counter()
        synthesize = getattr(job.voice, "synthesize_alone", None) if alone else None
        out = (synthesize or job.voice.synthesize)(job.plan.text, job.options)
        samples = audio_ops.resample(out.audio, out.sample_rate)
        gain = self._gains.get(job.voice.info.id, 1.0)
        job.audio = audio_ops.apply_gain(samples, gain)
        job.unread = out.unread
        job.compute_s = max(time.perf_counter() - start, 1e-9)
        duration = samples.size / audio_ops.OUTPUT_RATE
        if duration > 0:
            self.metrics.rtf.labels(job.voice.info.family).observe(job.compute_s / duration)
            self.metrics.audio_seconds.inc(duration)


def _segment(text: str, language: str, dialect: str | None) -> Sequence[Any]:
    from engine.tts.text import sentences

    result: Sequence[Any] = sentences(text, lang=language, dialect=dialect)
    return result


def _cut_first(text: str, span: Any, source: str, language: str) -> list[tuple[str, Any]]:
    """The request's first clause as two pieces: its first words (at least FIRST_PIECE_CHARS), then the
    rest, spoken back to back. Only at a word boundary that is also one in the source (the two words
    around it appear there exactly once, side by side), so never inside a word or a number's reading."""
    starts = _PHRASE_STARTS.get(language_code(language), frozenset())
    if starts is not None and not starts:
        return [(text, span)]
    source_text = source[span.start : span.end]
    for cut in (m.start() for m in re.finditer(" ", text)):
        head, rest = text[:cut].rstrip(), text[cut + 1 :].lstrip()
        if len(head) < FIRST_PIECE_CHARS:
            continue
        if len(rest) < _MIN_REST_CHARS:
            break
        if not head[-1].isalnum() or (starts is not None and rest.split()[0].lower() not in starts):
            continue
        left, right = head.split()[-1], rest.split()[0]
        found = list(re.finditer(rf"(?<!\w){re.escape(left)}(\s+){re.escape(right)}(?!\w)", source_text))
        if len(found) != 1:
            continue
        gap = found[0].span(1)
        return [
            (head, replace(span, end=span.start + gap[0])),
            (rest, replace(span, start=span.start + gap[1])),
        ]
    return [(text, span)]


def _describe_unread(unread: Counter[str]) -> list[str]:
    return [f"could not read {char!r} ({count}×)" for char, count in sorted(unread.items())]


def _unique_sentences(pieces: Sequence[SpeechPiece]) -> list[str]:
    seen: dict[int, list[str]] = {}
    for piece in pieces:
        seen.setdefault(piece.sentence_index, []).append(piece.text)
    return [" ".join(parts) for parts in seen.values()]
