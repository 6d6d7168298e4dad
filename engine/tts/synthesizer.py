"""Text → 48 kHz speech, streamed piece by piece, for many requests at once on a few cores.

A request's text is planned into pieces once (engine.tts.text.pieces: sentences, the first one cut short
so the first audio comes early); each piece is looked up in the cache or handed to the worker pool
(engine.tts.workers: one queue, emergencies and first pieces first). Here the pieces come back in order,
at most ``lookahead`` ahead of what the caller has taken, so a cancelled or abandoned request stops
costing CPU within a piece, and become broadcast audio: 48 kHz, the voice's one calibrated loudness, the
chime before the first, the plan's pauses between them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry

from engine.metrics import SynthesisMetrics
from engine.tts import audio as audio_ops
from engine.tts.cache import SpeechCache, cache_key
from engine.tts.limits import DEFAULT_SENTENCE_PAUSE_S, SENTENCE_PAUSE_S, SPEED
from engine.tts.text.model import Span
from engine.tts.text.normalize import ExtraLexicon, resolve_language
from engine.tts.text.pieces import Piece, Plan, plan_pieces
from engine.tts.text.ssml_plan import plan_ssml
from engine.tts.voices.base import SynthesisOptions, Voice
from engine.tts.voices.onnx import default_intra_op_threads, default_workers
from engine.tts.voices.registry import VoiceRegistry
from engine.tts.workers import Task, WorkerPool
from streaming.priority import Priority

# Ordinary phrases per language, each shorter than everyday sentences: long enough together to measure
# loudness, short enough that calibrating does not grow onnxruntime's memory arena beyond what speech needs.
_CALIBRATION = {
    "vi": ("Ủy ban nhân dân xã thông báo", "lịch tiêm chủng cho trẻ em trong tháng này."),
    "en": ("The commune office announces", "the vaccination schedule for children this month."),
    "km": ("នេះជាសេចក្តីជូនដំណឹងពីឃុំ", "អំពីការចាក់វ៉ាក់សាំងសម្រាប់កុមារ។"),
    "yue": ("今個月嘅兒童疫苗接種時間表", "已經公佈。"),
}


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
    ssml: bool = False  # text is an SSML document (engine/tts/text/ssml.py)
    lexicon: ExtraLexicon | None = None  # the deployment's Vietnamese readings, on Vietnamese text

    def __post_init__(self) -> None:
        if not self.text or not self.text.strip():
            raise ValueError("text: empty")
        SENTENCE_PAUSE_S.check(self.sentence_pause_s, "sentence_pause_s")
        self.options()  # validates speed and noise

    def options(self) -> SynthesisOptions:
        return SynthesisOptions(self.speaker, self.speed, self.noise_scale, self.noise_w)

    def plan(self, start_sentence: int = 0) -> Plan:
        """The text's pieces, from sentence ``start_sentence`` on."""
        if self.ssml:
            return plan_ssml(
                self.text,
                self.language,
                self.dialect,
                self.sentence_pause_s,
                start_sentence,
                lexicon=self.lexicon,
            )
        with_lexicon = resolve_language(self.language) in ("vi", "km")  # the languages with entries
        return plan_pieces(
            self.text,
            self.language,
            self.dialect,
            self.sentence_pause_s,
            start_sentence,
            lexicon=self.lexicon if with_lexicon else None,
        )


@dataclass(frozen=True)
class SpeechPiece:
    audio: np.ndarray  # float32 mono, 48 kHz, pause (and chime) included
    sentence_index: int
    source_span: Span  # where in the request's text this came from
    text: str  # spoken form
    warnings: tuple[str, ...]
    last: bool
    cached: bool = False
    sample_rate: int = audio_ops.OUTPUT_RATE
    lead_s: float = 0.0  # the chime before the words, on the first piece
    marks: tuple[str, ...] = ()  # SSML <mark>s reached where the words start
    end_marks: tuple[str, ...] = ()  # and where they end (before the pause)
    speech_s: float = 0.0  # the words' length, without chime and pause


@dataclass(frozen=True)
class Speech:
    audio: np.ndarray
    normalized_text: str
    warnings: tuple[str, ...]
    voice_id: str
    cached: bool
    sample_rate: int = audio_ops.OUTPUT_RATE
    timepoints: tuple[tuple[str, float], ...] = ()  # SSML <mark> name, seconds into the audio
    pieces: tuple[SpeechPiece, ...] = field(default=(), repr=False)


def timepoints(piece: SpeechPiece, offset_s: float) -> list[tuple[str, float]]:
    """The SSML marks of a piece that starts ``offset_s`` into the output, each with its time."""
    start = offset_s + piece.lead_s
    return [(name, start) for name in piece.marks] + [
        (name, start + piece.speech_s) for name in piece.end_marks
    ]


@dataclass(frozen=True)
class _Rendered:
    audio: np.ndarray  # 48 kHz, at the voice's gain; no pause
    unread: Counter[str] = field(default_factory=Counter)
    cached: bool = False


class Synthesizer:
    def __init__(
        self,
        voices: VoiceRegistry,
        workers: int | None = None,
        cache: SpeechCache | None = None,
        registry: CollectorRegistry | None = None,
        *,
        lookahead: int | None = None,
        target_lufs: float = audio_ops.DEFAULT_TARGET_LUFS,
    ) -> None:
        """``workers`` None: one per core. The registry's intra-op threads follow unless set already.
        Metrics go on the Prometheus ``registry`` (None: a private one)."""
        self.voices = voices
        self.workers = workers if workers and workers > 0 else default_workers()
        if voices.intra_op_threads is None:
            voices.intra_op_threads = default_intra_op_threads(self.workers)
        self.cache = cache
        self.lookahead = lookahead if lookahead is not None else self.workers
        self.target_lufs = target_lufs
        self.metrics = SynthesisMetrics.create(registry)
        self._gains: dict[str, float] = {}
        self._gain_lock = threading.Lock()
        self.pool = WorkerPool(self.workers)

    # -- public ---------------------------------------------------------------------------------------

    def stream(
        self,
        request: SpeechRequest,
        priority: int = Priority.NORMAL,
        cancel: threading.Event | None = None,
        *,
        pieces: Sequence[Piece] | None = None,
        background: bool = False,
    ) -> Generator[SpeechPiece, None, None]:
        """``pieces`` (default: the request's whole plan) in order, the first as soon as it is ready.
        ``priority`` as the API numbers it (0 is NORMAL). Stops early when ``cancel`` is set.
        ``background``: work ahead of need, queued after every other piece (workers.py)."""
        level = Priority.from_wire(priority)
        started = time.perf_counter()
        # the request's own voice, loaded and calibrated before the first piece is queued
        self._gain(self.voices.choose(request.language, request.dialect, request.voice_id), request.language)
        plan = request.plan().pieces if pieces is None else tuple(pieces)
        cancelled = threading.Event()
        tasks: list[Task[_Rendered]] = []

        def submit(index: int) -> None:
            piece = plan[index]
            voice, options, gain = self._voice_for(request, piece)
            key = self._key(voice, options, piece.text, gain)
            hit = self.cache.get(key) if self.cache is not None else None
            if self.cache is not None:
                self.metrics.cache_lookups.labels("hit" if hit is not None else "miss").inc()

            def render(alone: bool) -> _Rendered:
                rendered = self._render(voice, piece.text, options, alone, gain)
                if self.cache is not None:
                    self.cache.put(key, rendered.audio)
                return rendered

            task = Task(render, first=index == 0, cancelled=cancelled, background=background)
            tasks.append(task)
            if hit is not None:
                task.result = _Rendered(hit, cached=True)
                task.done.set()
            else:
                self.pool.submit(task, level)

        try:
            for index in range(min(self.lookahead, len(plan))):
                submit(index)
            for index, piece in enumerate(plan):
                task = tasks[index]
                while not task.done.wait(0.02):
                    if cancel is not None and cancel.is_set():
                        return
                if cancel is not None and cancel.is_set():
                    return
                if task.error is not None:
                    raise task.error
                if index + self.lookahead < len(plan):
                    submit(index + self.lookahead)
                assert task.result is not None
                spoken = self._assemble(piece, task.result, index, len(plan), request.chime)
                if index == 0 and not background:  # first audio measures live requests only
                    waited = time.perf_counter() - started
                    self.metrics.first_audio_seconds.labels(level.label).observe(waited)
                yield spoken
        finally:
            cancelled.set()

    def prepare(self, language: str = "vi", dialect: str | None = None, voice_id: str | None = None) -> Voice:
        """Load the voice a request would use and calibrate its loudness now, not on the first request."""
        voice = self.voices.choose(language, dialect, voice_id)
        self._gain(voice, language)
        return voice

    def synthesize(
        self,
        request: SpeechRequest,
        priority: int = Priority.NORMAL,
        cancel: threading.Event | None = None,
        *,
        pieces: Sequence[Piece] | None = None,
    ) -> Speech:
        """The whole request as one array (the streamed pieces, joined; ``pieces`` as for stream).
        TimeoutError if ``cancel`` is set before the last piece."""
        spoken = list(self.stream(request, priority, cancel, pieces=pieces))
        if cancel is not None and cancel.is_set():
            raise TimeoutError("synthesis stopped: the call ended (deadline passed or cancelled)")
        voice = self.voices.choose(request.language, request.dialect, request.voice_id)
        marks: list[tuple[str, float]] = []
        offset = 0.0
        for piece in spoken:
            marks += timepoints(piece, offset)
            offset += piece.audio.size / audio_ops.OUTPUT_RATE
        return Speech(
            audio=np.concatenate([p.audio for p in spoken]) if spoken else np.zeros(0, np.float32),
            normalized_text=" ".join(_unique_sentences(spoken)),
            warnings=tuple(w for p in spoken for w in p.warnings),
            voice_id=voice.info.id,
            cached=bool(spoken) and all(p.cached for p in spoken),
            timepoints=tuple(marks),
            pieces=tuple(spoken),
        )

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------------

    def _voice_for(self, request: SpeechRequest, piece: Piece) -> tuple[Voice, SynthesisOptions, float]:
        """The voice, options and gain of one piece: the request's, or for an SSML passage in another
        language that language's best voice (KeyError naming the language when none is installed), and
        an SSML prosody rate on top of the request's speed, within the API's speed limits."""
        options = request.options()
        language = piece.language or request.language
        if piece.language is None or resolve_language(piece.language) == resolve_language(request.language):
            voice = self.voices.choose(request.language, request.dialect, request.voice_id)
        else:
            voice = self.voices.choose(language)
            options = SynthesisOptions(None, options.speed, options.noise_scale, options.noise_w)
        if piece.rate is not None:
            speed = min(max((options.speed or 1.0) * piece.rate, SPEED.low + 0.01), SPEED.high)
            options = SynthesisOptions(options.speaker, speed, options.noise_scale, options.noise_w)
        return voice, options, self._gain(voice, language)

    def _assemble(
        self, piece: Piece, rendered: _Rendered, index: int, count: int, chime: bool
    ) -> SpeechPiece:
        """A piece as broadcast audio: the chime before the first, the plan's pause after all but the last."""
        audio = rendered.audio
        if index == 0 and chime:
            audio = np.concatenate([audio_ops.chime(target_lufs=self.target_lufs), audio])
        last = index == count - 1
        if not last and piece.pause_s > 0:
            audio = np.concatenate([audio, audio_ops.silence(piece.pause_s)])
        warnings = piece.warnings + tuple(_describe_unread(rendered.unread))
        lead = (audio.size - rendered.audio.size) / audio_ops.OUTPUT_RATE if index == 0 and chime else 0.0
        return SpeechPiece(
            audio,
            piece.sentence_index,
            piece.source_span,
            piece.text,
            warnings,
            last,
            rendered.cached,
            lead_s=lead,
            marks=piece.marks,
            end_marks=piece.end_marks,
            speech_s=rendered.audio.size / audio_ops.OUTPUT_RATE,
        )

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
            ceiling=round(audio_ops.PEAK_CEILING, 6),  # audio cached under an older limiter is not reused
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

    def _render(
        self, voice: Voice, text: str, options: SynthesisOptions, alone: bool, gain: float
    ) -> _Rendered:
        """On a worker thread: one piece at 48 kHz and the voice's gain (``alone``: on every core)."""
        start = time.perf_counter()
        synthesize = getattr(voice, "synthesize_alone", None) if alone else None
        out = (synthesize or voice.synthesize)(text, options)
        samples = audio_ops.resample(out.audio, out.sample_rate)
        rendered = _Rendered(audio_ops.apply_gain(samples, gain), out.unread)
        compute_s = max(time.perf_counter() - start, 1e-9)
        duration = samples.size / audio_ops.OUTPUT_RATE
        if duration > 0:
            self.metrics.real_time_factor.labels(voice.info.family).observe(compute_s / duration)
            self.metrics.audio_seconds.inc(duration)
        return rendered


def _describe_unread(unread: Counter[str]) -> list[str]:
    return [f"could not read {char!r} ({count}×)" for char, count in sorted(unread.items())]


def _unique_sentences(pieces: Sequence[SpeechPiece]) -> list[str]:
    seen: dict[int, list[str]] = {}
    for piece in pieces:
        seen.setdefault(piece.sentence_index, []).append(piece.text)
    return [" ".join(parts) for parts in seen.values()]
