"""Streaming, cancellation, priority scheduling, cache and metrics of the Synthesizer, with real voices."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from engine.tts import audio
from engine.tts.cache import SpeechCache
from engine.tts.synthesizer import SpeechRequest, Synthesizer
from engine.tts.voices.base import SynthesisOptions, Voice, VoiceAudio
from engine.tts.voices.registry import VoiceRegistry
from streaming.priority import Priority

BULLETIN = (
    "Ủy ban nhân dân xã thông báo, từ ngày mai, người dân không được đốt rơm rạ trên đồng ruộng. "
    "Xin cảm ơn bà con! Hẹn gặp lại."
)


class Recorder:
    """A real voice that also notes what it was asked to say, and can be held at a gate."""

    def __init__(self, voice: Voice, voice_id: str, log: list[str], gate: threading.Event) -> None:
        self.voice, self.log, self.gate = voice, log, gate
        self.info = replace(voice.info, id=voice_id)
        self.waiting = threading.Event()

    def synthesize(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        self.waiting.set()
        self.gate.wait(10)
        self.log.append(text)
        return self.voice.synthesize(text, options)


@pytest.fixture
def synth(registry: VoiceRegistry) -> Iterator[Synthesizer]:
    with Synthesizer(registry, workers=2, cache=SpeechCache(), registry=CollectorRegistry()) as s:
        yield s


def test_stream_yields_pieces_in_order_with_pauses(synth: Synthesizer) -> None:
    from engine.tts.text import sentences

    request = SpeechRequest(BULLETIN, voice_id="vi_VN-tiny-medium", sentence_pause_s=0.5)
    pieces = list(synth.stream(request))
    front = sentences(BULLETIN, lang="vi")
    # the long first sentence is spoken clause by clause, so its first audio comes early
    clauses = [c.text for c in front[0].clauses]
    assert len(clauses) >= 2
    expected_texts = clauses + [s.text for s in front[1:]]
    assert [p.text for p in pieces] == expected_texts
    assert [p.sentence_index for p in pieces] == [0] * len(clauses) + list(range(1, len(front)))
    assert [p.last for p in pieces] == [False] * (len(pieces) - 1) + [True]
    spans = [(p.source_span.start, p.source_span.end) for p in pieces]
    assert spans == sorted(spans)
    voice = synth.voices.get("vi_VN-tiny-medium")
    for i, piece in enumerate(pieces):
        raw = voice.synthesize(piece.text, SynthesisOptions())
        speech = audio.resample(raw.audio, raw.sample_rate).size
        pause = 0.0 if piece.last else 0.12 if i < len(clauses) - 1 else 0.5
        assert piece.audio.size == speech + round(pause * 48_000)
        assert piece.audio.dtype == np.float32 and piece.sample_rate == 48_000


def test_three_families_through_the_synthesizer(synth: Synthesizer, joe_model: Path) -> None:
    synth.voices.add_model(joe_model)
    cases = [
        SpeechRequest("Xin chào bà con.", language="vi", voice_id="espeak-vi"),
        SpeechRequest("Xin chào bà con.", language="vi", voice_id="vi_VN-tinymulti-medium", speaker=1),
        SpeechRequest("សួស្តី បងប្អូន។ នេះជាសេចក្តីជូនដំណឹង។", language="km"),
        SpeechRequest("Hello everyone. Thank you for listening.", language="en", voice_id="en_US-joe-medium"),
    ]
    for request in cases:
        speech = synth.synthesize(request)
        assert speech.sample_rate == 48_000
        assert speech.audio.size > 0.3 * 48_000, request
        assert np.max(np.abs(speech.audio)) <= 1.0
    joe = synth.synthesize(cases[-1])
    assert joe.voice_id == "en_US-joe-medium"
    assert audio.loudness(joe.audio) == pytest.approx(audio.DEFAULT_TARGET_LUFS, abs=3.0)


def test_default_voice_speaks_vietnamese_with_no_download() -> None:
    with Synthesizer(VoiceRegistry(), workers=1, registry=CollectorRegistry()) as synth:
        speech = synth.synthesize(SpeechRequest("Loa phát thanh xã xin thông báo. Xin cảm ơn."))
    assert speech.voice_id == "espeak-vi-south"  # the default dialect, read and voiced (#13)
    assert 1.5 < speech.audio.size / 48_000 < 8
    assert audio.loudness(speech.audio) == pytest.approx(audio.DEFAULT_TARGET_LUFS, abs=2.5)


def test_cache_serves_repeats_and_keys_on_settings(synth: Synthesizer) -> None:
    request = SpeechRequest("Xin chào. Hẹn gặp lại.", voice_id="vi_VN-tinymulti-medium")
    first = synth.synthesize(request)
    again = synth.synthesize(request)
    assert not first.cached and again.cached
    np.testing.assert_array_equal(first.audio, again.audio)
    other = synth.synthesize(replace(request, speaker="speaker_2"))
    assert not other.cached and other.audio.size == first.audio.size
    assert not synth.synthesize(replace(request, speed=1.5)).cached
    hits = synth.metrics.cache_lookups.labels("hit")._value.get()
    assert hits == 2


def test_chime_comes_before_the_first_piece(synth: Synthesizer) -> None:
    plain = list(synth.stream(SpeechRequest("Xin chào.", voice_id="vi_VN-tiny-medium")))
    chimed = list(synth.stream(SpeechRequest("Xin chào.", voice_id="vi_VN-tiny-medium", chime=True)))
    assert chimed[0].audio.size == plain[0].audio.size + audio.chime().size


def _recording_synth(registry: VoiceRegistry, recorder: Recorder) -> Synthesizer:
    registry.add_voice(recorder)
    return Synthesizer(registry, workers=1, lookahead=3, registry=CollectorRegistry())


def test_cancel_stops_further_work(registry: VoiceRegistry) -> None:
    log: list[str] = []
    gate = threading.Event()
    gate.set()
    recorder = Recorder(registry.get("vi_VN-tiny-medium"), "rec", log, gate)
    with _recording_synth(registry, recorder) as synth:
        synth.prepare(voice_id="rec")  # the loudness calibration runs now, not inside the count below
        log.clear()
        cancel = threading.Event()
        text = " ".join(f"Câu số {i}." for i in range(12))
        stream = synth.stream(SpeechRequest(text, voice_id="rec"), cancel=cancel)
        next(stream)
        cancel.set()
        assert list(stream) == []
        time.sleep(0.2)
        done = len(log)
        time.sleep(0.2)
        assert len(log) == done <= 1 + 3 + 1  # the first piece, its look-ahead, at most one in flight
        # abandoning a stream (closing the generator) also stops its work
        log.clear()
        abandoned = synth.stream(SpeechRequest(text, voice_id="rec"))
        next(abandoned)
        abandoned.close()
        time.sleep(0.3)
        assert len(log) <= 1 + 3 + 1


def test_first_pieces_and_emergencies_go_before_later_pieces(registry: VoiceRegistry) -> None:
    log: list[str] = []
    gate = threading.Event()
    recorder = Recorder(registry.get("vi_VN-tiny-medium"), "rec", log, gate)
    with _recording_synth(registry, recorder) as synth:
        gate.set()
        synth.synthesize(SpeechRequest("Xin chào.", voice_id="rec"))  # loudness calibration, done once
        gate.clear()
        log.clear()
        recorder.waiting.clear()

        def consume(text: str, priority: int) -> threading.Thread:
            thread = threading.Thread(
                target=lambda: list(synth.stream(SpeechRequest(text, voice_id="rec"), priority))
            )
            thread.start()
            return thread

        def queued(n: int) -> None:
            deadline = time.monotonic() + 5
            while synth.pool.queued() < n and time.monotonic() < deadline:
                time.sleep(0.005)

        threads = [consume("Một a. Một b. Một c.", Priority.NORMAL)]
        assert recorder.waiting.wait(5)
        queued(2)  # the worker holds "Một a." at the gate; b and c wait
        threads.append(consume("Hai a. Hai b.", Priority.HIGH))
        queued(4)
        threads.append(consume("Khẩn a. Khẩn b.", Priority.EMERGENCY))
        queued(6)
        gate.set()
        for thread in threads:
            thread.join(10)
    assert log == ["Một a.", "Khẩn a.", "Khẩn b.", "Hai a.", "Hai b.", "Một b.", "Một c."]


def test_background_pieces_wait_for_every_live_piece(registry: VoiceRegistry) -> None:
    """A bulletin synthesized ahead of its time (engine/jobs/ahead_planner.py) never delays live speech."""
    log: list[str] = []
    gate = threading.Event()
    recorder = Recorder(registry.get("vi_VN-tiny-medium"), "rec", log, gate)
    with _recording_synth(registry, recorder) as synth:
        gate.set()
        synth.synthesize(SpeechRequest("Xin chào.", voice_id="rec"))  # loudness calibration, done once
        gate.clear()
        log.clear()
        recorder.waiting.clear()

        def consume(text: str, priority: int, background: bool = False) -> threading.Thread:
            request = SpeechRequest(text, voice_id="rec")
            thread = threading.Thread(
                target=lambda: list(synth.stream(request, priority, background=background))
            )
            thread.start()
            return thread

        def queued(n: int) -> None:
            deadline = time.monotonic() + 5
            while synth.pool.queued() < n and time.monotonic() < deadline:
                time.sleep(0.005)

        threads = [consume("Trước a. Trước b. Trước c.", Priority.HIGH, background=True)]
        assert recorder.waiting.wait(5)
        queued(2)  # the worker holds "Trước a." at the gate; b and c wait
        threads.append(consume("Một a. Một b.", Priority.NORMAL))
        queued(4)
        gate.set()
        for thread in threads:
            thread.join(10)
    assert log == ["Trước a.", "Một a.", "Một b.", "Trước b.", "Trước c."]


def test_bad_requests_are_clear_errors(synth: Synthesizer) -> None:
    with pytest.raises(ValueError, match="text"):
        SpeechRequest("   ")
    with pytest.raises(ValueError, match="speed"):
        SpeechRequest("Xin chào.", speed=0)
    with pytest.raises(ValueError, match="priority"):
        list(synth.stream(SpeechRequest("Xin chào."), priority=7))
    with pytest.raises(KeyError, match="voice_id"):
        list(synth.stream(SpeechRequest("Xin chào.", voice_id="nope")))
    with pytest.raises(ValueError, match="speaker"):
        list(synth.stream(SpeechRequest("Xin chào.", voice_id="vi_VN-tiny-medium", speaker=2)))


def test_metrics_on_the_given_registry(registry: VoiceRegistry) -> None:
    prometheus = CollectorRegistry()
    with Synthesizer(registry, workers=1, registry=prometheus) as synth:
        synth.synthesize(
            SpeechRequest("Xin chào. Hẹn gặp lại.", voice_id="vi_VN-tiny-medium"), priority=Priority.HIGH
        )
    assert prometheus.get_sample_value("loa_tts_first_audio_seconds_count", {"priority": "high"}) == 1
    assert prometheus.get_sample_value("loa_tts_real_time_factor_count", {"family": "piper"}) == 2
    assert (prometheus.get_sample_value("loa_tts_audio_seconds_total") or 0) > 0


def test_workers_default_to_one_per_core_with_one_thread_each(registry: VoiceRegistry) -> None:
    fresh = VoiceRegistry(builtin=False)
    with Synthesizer(fresh, registry=CollectorRegistry()) as synth:
        import os

        assert synth.workers == len(os.sched_getaffinity(0))
        assert fresh.intra_op_threads == (1 if synth.workers > 1 else 0)
    pinned = VoiceRegistry(builtin=False, intra_op_threads=2)
    with Synthesizer(pinned, workers=3, registry=CollectorRegistry()):
        assert pinned.intra_op_threads == 2  # the operator's choice stands


def test_first_clause_is_cut_after_its_first_words_at_a_word_boundary(synth: Synthesizer) -> None:
    text = "The commune office announces the vaccination schedule for children. Thank you."
    request = SpeechRequest(text, language="en", voice_id="vi_VN-tiny-medium", sentence_pause_s=0.5)
    pieces = list(synth.stream(request))
    assert [p.text for p in pieces] == [
        "The commune office",
        "announces the vaccination schedule for children.",
        "Thank you.",
    ]
    assert [p.sentence_index for p in pieces] == [0, 0, 1]
    assert [text[p.source_span.start : p.source_span.end] for p in pieces] == [p.text for p in pieces]
    # the two halves of the sentence are spoken back to back; the sentence pause comes after the second
    voice = synth.voices.get("vi_VN-tiny-medium")
    speech = [audio.resample(voice.synthesize(p.text, SynthesisOptions()).audio, 22_050).size for p in pieces]
    assert [p.audio.size for p in pieces] == [speech[0], speech[1] + 24_000, speech[2]]


def test_vietnamese_first_clause_is_cut_only_before_a_function_word(synth: Synthesizer) -> None:
    def texts(text: str) -> list[str]:
        return [p.text for p in SpeechRequest(text, voice_id="vi_VN-tiny-medium").plan().pieces]

    # "thông báo", "tiêm chủng" are words of two syllables: no cut between syllables
    assert texts("Ủy ban nhân dân xã thông báo lịch tiêm chủng.") == [
        "Ủy ban nhân dân xã thông báo lịch tiêm chủng."
    ]
    assert texts("Bà con thôn Bản Phố đã được cấp nước sạch.") == [
        "Bà con thôn Bản Phố",
        "đã được cấp nước sạch.",
    ]
    # the cut maps back through the reading of the numbers
    source = "Từ 7 giờ đến 11 giờ sẽ mất điện ở thôn Bản Phố."
    plans = SpeechRequest(source, voice_id="vi_VN-tiny-medium").plan().pieces
    assert [p.text.lower() for p in plans] == ["từ bảy giờ đến mười một giờ", "sẽ mất điện ở thôn bản phố."]
    assert [source[p.source_span.start : p.source_span.end] for p in plans] == [
        "Từ 7 giờ đến 11 giờ",
        "sẽ mất điện ở thôn Bản Phố.",
    ]


class AloneRecorder(Recorder):
    """Notes which pieces ran on the all-cores path, and how many ran at once."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.running = 0
        self.overlap_with_alone = False
        self.lock = threading.Lock()
        self.alone_running = False
        self.alone_gate = threading.Event()
        self.alone_gate.set()
        self.alone_waiting = threading.Event()

    def synthesize(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        with self.lock:
            self.running += 1
            self.overlap_with_alone |= self.alone_running
        try:
            time.sleep(0.02)
            return super().synthesize(text, options)
        finally:
            with self.lock:
                self.running -= 1

    def synthesize_alone(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        with self.lock:
            self.alone_running = True
            self.overlap_with_alone |= self.running > 0
        try:
            self.alone_waiting.set()
            self.alone_gate.wait(10)
            time.sleep(0.05)
            self.log.append(f"alone: {text}")
            return self.voice.synthesize(text, options)
        finally:
            with self.lock:
                self.alone_running = False


def test_first_piece_on_an_idle_synthesizer_runs_alone(registry: VoiceRegistry) -> None:
    log: list[str] = []
    gate = threading.Event()
    gate.set()
    recorder = AloneRecorder(registry.get("vi_VN-tiny-medium"), "rec", log, gate)
    registry.add_voice(recorder)
    with Synthesizer(registry, workers=2, lookahead=3, registry=CollectorRegistry()) as synth:
        synth.prepare(voice_id="rec")
        log.clear()
        first = synth.synthesize(SpeechRequest("Một a. Một b. Một c. Một d.", voice_id="rec"))
        assert log[0] == "alone: Một a." and all(not t.startswith("alone") for t in log[1:])
        assert not recorder.overlap_with_alone  # the other worker waited for it
        # a bulletin arriving while another runs shares the cores like any piece
        log.clear()
        gate.clear()
        recorder.waiting.clear()
        running = threading.Thread(
            target=synth.synthesize, args=(SpeechRequest("Hai a. Hai b.", voice_id="rec"),)
        )
        running.start()
        assert recorder.waiting.wait(5)  # "Hai b." is held at the gate, on one worker
        arriving = threading.Thread(target=synth.synthesize, args=(SpeechRequest("Ba a.", voice_id="rec"),))
        arriving.start()
        deadline = time.monotonic() + 5
        while recorder.running < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        gate.set()
        for thread in (running, arriving):
            thread.join(10)
        assert sorted(log) == ["Ba a.", "Hai b.", "alone: Hai a."]
        assert not recorder.overlap_with_alone
        # bulletins queued together are not idle time: after one ran alone, the next shares the cores
        log.clear()
        recorder.alone_gate.clear()
        recorder.alone_waiting.clear()
        threads = [
            threading.Thread(target=synth.synthesize, args=(SpeechRequest(text, voice_id="rec"),))
            for text in ("Bốn a. Bốn b.", "Năm a.", "Sáu a.")
        ]
        threads[0].start()
        assert recorder.alone_waiting.wait(5)  # "Bốn a." alone, held
        for thread in threads[1:]:
            thread.start()
        deadline = time.monotonic() + 5
        while synth.pool.queued() < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        recorder.alone_gate.set()
        for thread in threads:
            thread.join(10)
        assert log[0] == "alone: Bốn a." and sorted(log[1:]) == ["Bốn b.", "Năm a.", "Sáu a."]
    assert first.audio.size > 0


def test_all_cores_session_speaks_exactly_as_the_shared_one(joe_model: Path) -> None:
    import os

    from engine.tts.voices.piper import PiperVoice

    text = "The commune office announces the vaccination schedule."
    one, other = (
        PiperVoice.load(joe_model, intra_op_threads=1),
        PiperVoice.load(joe_model, intra_op_threads=1),
    )
    alone = one.synthesize_alone(text, SynthesisOptions())  # each session's first run: same noise draw
    shared = other.synthesize(text, SynthesisOptions())
    np.testing.assert_array_equal(alone.audio, shared.audio)
    cores = len(os.sched_getaffinity(0))
    if cores > 1:
        assert one.sessions.alone() is not one.session
        assert one.sessions.alone().get_session_options().intra_op_num_threads == cores
