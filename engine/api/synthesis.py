"""loa.v1.Synthesis: text to audio for content systems, and the reading preview for editors."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
import numpy as np

from engine.api.admission import Admission
from engine.api.convert import duration, is_ssml, seconds_of
from engine.errors import NotFound
from engine.jobs.validation import MAX_TEXT_CHARS, check_plain_text
from engine.tts import audiofile
from engine.tts.audio import OUTPUT_RATE
from engine.tts.catalog import Catalog
from engine.tts.limits import DEFAULT_SENTENCE_PAUSE_S, NOISE, SENTENCE_PAUSE_S, SPEED
from engine.tts.synthesizer import SpeechPiece, SpeechRequest, Synthesizer, timepoints
from engine.tts.text import Normalized, Sentence, TextWarning, normalize, resolve_language, sentences
from engine.tts.text.entries import LANGUAGES as LEXICON_LANGUAGES
from engine.tts.text.entries import lexicon_for
from engine.tts.text.pieces import Plan
from engine.tts.text.ssml import Document, SSMLError, Text, parse
from engine.tts.text.ssml_plan import read_ssml
from engine.tts.voices.base import VoiceInfo
from engine.tts.voices.registry import VoiceRegistry
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc
from streaming.opus import OpusEncoder, OpusSettings
from streaming.rtp import FRAME_SAMPLES

FAMILIES = {"piper": pb.VOICE_FAMILY_PIPER, "mms": pb.VOICE_FAMILY_MMS, "espeak": pb.VOICE_FAMILY_ESPEAK}


# language -> the deployment's entries (written -> spoken) for it; the server passes the store's.
class LexiconSource(Protocol):
    """The deployment's entries for a language, with those the groups agree on (lexicon_store.py)."""

    def __call__(self, language: str, group_ids: Sequence[str] = ...) -> Mapping[str, str]: ...


def no_lexicon(language: str, group_ids: Sequence[str] = ()) -> Mapping[str, str]:
    return {}


# A preview repeats each sentence with spans and warnings: ~50 bytes per input character on hostile text,
# so a 100,000-character request could answer 5-6 MB, over gRPC's default 4 MiB client limit (issue #12).
MAX_NORMALIZE_REPLY_BYTES = 3 * 2**20


def _part_chars(text: str, size: int) -> int:
    return max(1000, int(len(text) * MAX_NORMALIZE_REPLY_BYTES / size) // 1000 * 1000)


def _check_text(text: str, field: str = "text") -> None:
    if not text.strip():
        raise ValueError(f"{field}: empty")
    check_plain_text(text, field, MAX_TEXT_CHARS)


def _language(code: str, field: str = "language") -> str:
    try:
        return resolve_language(code or "vi")
    except ValueError:
        raise ValueError(f"{field}: unsupported language {code!r}") from None


def check_ssml(text: str, field: str = "text") -> Document:
    """The parsed document; INVALID_ARGUMENT "field: SSML line L, column C: why" when it is not SSML
    this server reads."""
    try:
        return parse(text)
    except SSMLError as exc:
        raise ValueError(f"{field}: {exc}") from None


def ssml_languages(doc: Document) -> list[tuple[str, Text]]:
    """Each language an SSML document switches to (xml:lang), with its first run: where to point."""
    seen: dict[str, Text] = {}
    for item in doc.items:
        if isinstance(item, Text) and item.lang and item.text.strip():
            seen.setdefault(item.lang, item)
    return list(seen.items())


def require_ssml_voices(voices: VoiceRegistry, doc: Document, language: str, field: str = "text") -> None:
    """NOT_FOUND naming the field, the language and where it starts, for a passage in a language no
    installed voice speaks (the request's own language is checked with its voice)."""
    for lang, run in ssml_languages(doc):
        if lang == language:
            continue
        try:
            voices.choose(lang)
        except KeyError:
            raise NotFound(
                f"{field}: SSML line {run.line}, column {run.column}: xml:lang {lang!r}: no voice for "
                f"{lang!r} is installed (install one with `loa voices install`)"
            ) from None


def plan_of(request: SpeechRequest, field: str = "text") -> Plan:
    """The request's one piece plan; a plan error names the field."""
    try:
        return request.plan()
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(f"{field}:") else f"{field}: {message}") from None


def speech_request(request: pb.SynthesizeRequest, lexicon: LexiconSource = no_lexicon) -> SpeechRequest:
    """Checks a request's fields (errors name them) and builds the synthesizer's request."""
    _check_text(request.text)
    language = _language(request.language)
    ssml = is_ssml(request.text, request.text_format)
    voice = request.voice
    pause = (
        seconds_of(request.sentence_pause, "sentence_pause")
        if request.HasField("sentence_pause")
        else DEFAULT_SENTENCE_PAUSE_S
    )
    SENTENCE_PAUSE_S.check(pause, "sentence_pause")
    if voice.HasField("speed"):
        SPEED.check(voice.speed, "voice.speed")
    for name in ("noise_scale", "noise_w"):
        if voice.HasField(name):
            NOISE.check(getattr(voice, name), f"voice.{name}")
    return SpeechRequest(
        text=request.text,
        language=language,
        dialect=request.dialect or None,
        voice_id=voice.voice_id or None,
        speaker=voice.speaker or None,
        speed=voice.speed if voice.HasField("speed") else None,
        noise_scale=voice.noise_scale if voice.HasField("noise_scale") else None,
        noise_w=voice.noise_w if voice.HasField("noise_w") else None,
        sentence_pause_s=pause,
        chime=request.chime,
        ssml=ssml,
        lexicon=lexicon_for(lambda lang: lexicon(lang, tuple(request.group_ids)), language, ssml),
    )


def require_voice(
    voices: VoiceRegistry, language: str, dialect: str | None, voice_id: str | None, prefix: str = ""
) -> None:
    """NOT_FOUND naming the field when no installed voice can speak this."""
    try:
        voices.choose(language, dialect, voice_id)
    except KeyError as exc:
        field = "voice.voice_id" if voice_id else "language"
        message = str(exc.args[0]).split(": ", 1)[-1] if exc.args else str(exc)
        raise NotFound(f"{prefix}{field}: {message}") from None


def warning_to_pb(w: TextWarning) -> pb.NormalizeWarning:
    return pb.NormalizeWarning(
        code=w.code,
        message=w.message,
        source_span=pb.TextSpan(start=w.source_span.start, end=w.source_span.end),
        source_text=w.source_text,
        spoken_as=w.spoken_as,
    )


def voice_to_pb(info: VoiceInfo, installed: bool = True, size_bytes: int = 0) -> pb.Voice:
    return pb.Voice(
        id=info.id,
        language=info.language,
        dialect=info.dialect or "",
        family=FAMILIES.get(info.family, pb.VOICE_FAMILY_UNSPECIFIED),
        sample_rate_hz=info.sample_rate,
        speakers=list(info.speakers),
        licence=info.licence,
        quality=info.quality,
        installed=installed,
        description=info.name,
        size_bytes=size_bytes,
    )


_FILE_KINDS: dict[int, audiofile.Kind] = {
    pb.AUDIO_FORMAT_PCM_S16LE: "pcm_s16le",
    pb.AUDIO_FORMAT_OGG_OPUS: "ogg_opus",
}


def encode_file(audio: np.ndarray, fmt: int, rate: int) -> bytes:
    """The reply's audio in the requested format (unspecified: WAV)."""
    return audiofile.encode(audio, _FILE_KINDS.get(fmt, "wav"), rate)


@dataclass
class _OpusChunker:
    """Cuts a stream of PCM pieces into 20 ms Opus packets, carrying the remainder to the next piece."""

    encoder: OpusEncoder
    pending: np.ndarray

    def packets(self, pcm: np.ndarray, last: bool) -> list[bytes]:
        buffered = np.concatenate([self.pending, pcm])
        if last:
            buffered = np.pad(buffered, (0, (-len(buffered)) % FRAME_SAMPLES + FRAME_SAMPLES))
        whole = len(buffered) // FRAME_SAMPLES * FRAME_SAMPLES
        self.pending = buffered[whole:]
        return [self.encoder.encode(buffered[i : i + FRAME_SAMPLES]) for i in range(0, whole, FRAME_SAMPLES)]


def cancel_on_end(context: grpc.ServicerContext) -> threading.Event:
    """An Event set when the call ends for any reason: the client's deadline, a cancel, a lost
    connection. The synthesizer stops at the next piece when it is set."""
    cancel = threading.Event()
    context.add_callback(cancel.set)
    return cancel


def timepoints_to_pb(marks: Sequence[tuple[str, float]]) -> list[pb.Timepoint]:
    return [pb.Timepoint(mark_name=name, time=duration(at)) for name, at in marks]


class SynthesisServicer(loa_pb2_grpc.SynthesisServicer):
    def __init__(
        self,
        synth: Synthesizer,
        catalog: Catalog,
        admission: Admission,
        lexicon: LexiconSource = no_lexicon,
    ) -> None:
        self.synth = synth
        self.admission = admission
        self.lexicon = lexicon
        # Known voices that can be installed with `loa voices install ID`, with their licences.
        self.catalog_voices = [
            voice_to_pb(v.info(), installed=False, size_bytes=sum(f.size or 0 for f in v.files))
            for v in catalog.voices.values()
        ]

    def _prepare(self, request: SpeechRequest) -> Plan:
        """Voices for every language the text is spoken in, then the text's one plan."""
        require_voice(self.synth.voices, request.language, request.dialect, request.voice_id)
        if request.ssml:
            require_ssml_voices(self.synth.voices, check_ssml(request.text), request.language)
        return plan_of(request)

    def Synthesize(
        self, request: pb.SynthesizeRequest, context: grpc.ServicerContext
    ) -> pb.SynthesizeResponse:
        if request.format not in pb.AudioFormat.values():
            raise ValueError(f"format: unknown audio format {request.format}")
        rate = request.sample_rate_hz or OUTPUT_RATE
        if request.format == pb.AUDIO_FORMAT_OGG_OPUS and rate != OUTPUT_RATE:
            raise ValueError("sample_rate_hz: Ogg/Opus is always 48000")
        if not 8000 <= rate <= OUTPUT_RATE:
            raise ValueError(f"sample_rate_hz: {rate} not in 8000..48000")
        speech_req = speech_request(request, self.lexicon)
        plan = self._prepare(speech_req)
        with self.admission.synthesis.take():  # held until the reply is built: the audio is the memory
            speech = self.synth.synthesize(speech_req, cancel=cancel_on_end(context), pieces=plan.pieces)
            audio = speech.audio
            if rate != OUTPUT_RATE:
                from engine.tts.audio import resample

                audio = resample(audio, OUTPUT_RATE, rate)
            fmt = request.format or pb.AUDIO_FORMAT_WAV
            return pb.SynthesizeResponse(
                audio=encode_file(audio, fmt, rate),
                format=fmt,
                sample_rate_hz=rate,
                duration=duration(len(audio) / rate),
                normalized_text=speech.normalized_text,
                warnings=[warning_to_pb(w) for piece in plan.pieces for w in piece.notes],
                voice_id=speech.voice_id,
                cached=speech.cached,
                timepoints=timepoints_to_pb(speech.timepoints),
            )

    def StreamSynthesize(
        self, request: pb.SynthesizeRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.AudioChunk]:
        encoding = request.chunk_encoding or pb.CHUNK_ENCODING_PCM_S16LE
        if encoding not in pb.ChunkEncoding.values():
            raise ValueError(f"chunk_encoding: unknown encoding {request.chunk_encoding}")
        rate = request.sample_rate_hz or OUTPUT_RATE
        if encoding == pb.CHUNK_ENCODING_OPUS and rate != OUTPUT_RATE:
            raise ValueError("sample_rate_hz: Opus is always 48000")
        if not 8000 <= rate <= OUTPUT_RATE:
            raise ValueError(f"sample_rate_hz: {rate} not in 8000..48000")
        speech_req = speech_request(request, self.lexicon)
        plan = self._prepare(speech_req)
        with self.admission.synthesis.take():
            yield from self._stream(speech_req, plan, encoding, rate, cancel_on_end(context))

    def _stream(
        self,
        speech_req: SpeechRequest,
        plan: Plan,
        encoding: pb.ChunkEncoding,
        rate: int,
        cancel: threading.Event,
    ) -> Iterator[pb.AudioChunk]:
        chunker = _OpusChunker(OpusEncoder(OpusSettings()), np.zeros(0, np.float32))
        offset = 0.0
        spoken: Iterator[SpeechPiece] = self.synth.stream(speech_req, cancel=cancel, pieces=plan.pieces)
        for piece, planned in zip(spoken, plan.pieces, strict=False):
            chunk = pb.AudioChunk(
                encoding=encoding,
                sample_rate_hz=rate,
                sentence_index=piece.sentence_index,
                source_span=pb.TextSpan(start=piece.source_span.start, end=piece.source_span.end),
                text=piece.text,
                offset=duration(offset),
                duration=duration(len(piece.audio) / OUTPUT_RATE),
                last=piece.last,
                warnings=[pb.NormalizeWarning(code="unread", message=w) for w in piece.warnings],
                timepoints=timepoints_to_pb(timepoints(piece, offset)),
                language=planned.language or speech_req.language,
            )
            if encoding == pb.CHUNK_ENCODING_OPUS:
                chunk.opus_packets.extend(chunker.packets(piece.audio, piece.last))
            else:
                audio = piece.audio
                if rate != OUTPUT_RATE:
                    from engine.tts.audio import resample

                    audio = resample(audio, OUTPUT_RATE, rate)
                chunk.pcm = encode_file(audio, pb.AUDIO_FORMAT_PCM_S16LE, rate)
            offset += len(piece.audio) / OUTPUT_RATE
            yield chunk

    def ListVoices(
        self, request: pb.ListVoicesRequest, context: grpc.ServicerContext
    ) -> pb.ListVoicesResponse:
        language = _language(request.language) if request.language else ""
        installed = [voice_to_pb(info) for info in self.synth.voices.list()]
        ids = {v.id for v in installed}
        voices = installed + (
            [] if request.installed_only else [v for v in self.catalog_voices if v.id not in ids]
        )
        return pb.ListVoicesResponse(voices=[v for v in voices if not language or v.language == language])

    def Normalize(self, request: pb.NormalizeRequest, context: grpc.ServicerContext) -> pb.NormalizeResponse:
        _check_text(request.text)
        language = _language(request.language)
        dialect = request.dialect or None
        ssml = is_ssml(request.text, request.text_format)
        if ssml:
            check_ssml(request.text)
        lexicon = lexicon_for(lambda lang: self.lexicon(lang, tuple(request.group_ids)), language, ssml)
        with self.admission.synthesis.take():
            if ssml:
                reply = self._normalize_ssml(request.text, language, dialect, lexicon)
            else:
                reply = self._normalize(request.text, language, dialect, lexicon)
        size = reply.ByteSize()
        if size > MAX_NORMALIZE_REPLY_BYTES:
            limit, part = MAX_NORMALIZE_REPLY_BYTES // 2**20, _part_chars(request.text, size)
            raise ValueError(
                f"text: its preview would be {size / 2**20:.1f} MiB, over the {limit} MiB a gRPC client takes"
                f" by default; send it in parts of about {part} characters"
            )
        return reply

    def _normalize(
        self, text: str, language: str, dialect: str | None, lexicon: Mapping[str, str] | None
    ) -> pb.NormalizeResponse:
        lexicon = lexicon if language in LEXICON_LANGUAGES else None
        whole: Normalized = normalize(text, language, dialect, lexicon)
        read = sentences(text, language, dialect, lexicon)
        return pb.NormalizeResponse(
            normalized_text=whole.text,
            sentences=[_sentence_to_pb(s, language) for s in read],
            warnings=[warning_to_pb(w) for w in whole.warnings],
            lexicon=_lexicon_to_pb(read),
        )

    def _normalize_ssml(
        self, text: str, language: str, dialect: str | None, lexicon: Mapping[str, str] | None
    ) -> pb.NormalizeResponse:
        try:
            reading = read_ssml(text, language, dialect, DEFAULT_SENTENCE_PAUSE_S, lexicon=lexicon)
        except ValueError as exc:
            raise ValueError(f"text: {str(exc).removeprefix('text: ')}") from None
        said = [r for r in reading.sentences if r.sentence.text.strip()]
        return pb.NormalizeResponse(
            normalized_text=" ".join(r.sentence.text.strip() for r in said),
            sentences=[_sentence_to_pb(r.sentence, r.language) for r in reading.sentences],
            warnings=[warning_to_pb(w) for r in reading.sentences for w in r.sentence.warnings],
            lexicon=_lexicon_to_pb([r.sentence for r in reading.sentences]),
        )


def _lexicon_to_pb(read: Sequence[Sentence]) -> list[pb.AppliedLexiconEntry]:
    """Which entries read what, sentence by sentence: an editor sees that "HTXTP" was read by the
    commune's entry, and where."""
    return [
        pb.AppliedLexiconEntry(
            written=use.written,
            spoken=use.spoken,
            deployment=use.deployment,
            sentence_index=index,
            source_span=pb.TextSpan(start=use.source_span.start, end=use.source_span.end),
        )
        for index, sentence in enumerate(read)
        for use in sentence.lexicon
    ]


def _sentence_to_pb(s: Sentence, language: str) -> pb.NormalizedSentence:
    return pb.NormalizedSentence(
        text=s.text,
        source_span=pb.TextSpan(start=s.source_span.start, end=s.source_span.end),
        clauses=[c.text for c in s.clauses],
        language=language,
    )
