"""A broadcast segment as the speakers hear it: 48 kHz PCM piece by piece, each with its progress.

One definition for the two places that make a bulletin's audio: the airing (airing.py, live, fed to the
stream as each piece is ready) and a bulletin delivered ahead (ahead_planner.py, synthesized in the
background before its time). Both must hear the same thing: the chime, the pauses, the SSML marks and the
silence after the segment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import numpy as np

from engine.jobs.model import Broadcast, Progress
from engine.jobs.store import Store
from engine.tts import audiofile
from engine.tts.audio import OUTPUT_RATE, silence
from engine.tts.limits import DEFAULT_SENTENCE_PAUSE_S
from engine.tts.synthesizer import SpeechRequest, Synthesizer
from engine.tts.text.entries import lexicon_for
from engine.tts.text.normalize import resolve_language


def segment_audio(
    store: Store,
    synth: Synthesizer,
    broadcast: Broadcast,
    repeat: int,
    seg_index: int,
    first_sentence: int,
    chime: bool,
    cancel: threading.Event,
    check_stopped: Callable[[], None] = lambda: None,
    background: bool = False,
) -> Iterator[tuple[Progress, np.ndarray]]:
    """(progress at the start of the piece, 48 kHz PCM) for each piece of one segment, from its sentence
    ``first_sentence`` on. ``check_stopped`` raises to end the airing; ``background``: synthesis after
    every live request (engine/tts/workers.py)."""
    segment = broadcast.spec.segments[seg_index]
    if segment.audio is not None:
        yield Progress(repeat, seg_index, 0, 1), audiofile.decode(segment.audio)
        return
    assert segment.text is not None
    pause = broadcast.spec.sentence_pause_s
    request = SpeechRequest(
        text=segment.text,
        language=segment.language or "vi",
        dialect=segment.dialect or None,
        voice_id=segment.voice_id or None,
        speaker=segment.speaker or None,
        speed=segment.speed,
        noise_scale=segment.noise_scale,
        noise_w=segment.noise_w,
        sentence_pause_s=DEFAULT_SENTENCE_PAUSE_S if pause is None else pause,
        chime=chime,
        ssml=segment.ssml,
        # as of now, with its groups' own (entries.lexicon_for: an SSML document's, every language's)
        lexicon=lexicon_for(
            lambda lang: store.lexicon(lang, broadcast.group_ids),
            resolve_language(segment.language or "vi"),
            segment.ssml,
        ),
    )
    plan = request.plan(first_sentence)
    if not plan.pieces:
        return
    count = plan.sentence_count
    spoken = synth.stream(
        request, broadcast.priority, cancel=cancel, pieces=plan.pieces, background=background
    )
    mark = ""  # the last SSML <mark> reached, reported with the progress from where it stands
    for piece in spoken:
        check_stopped()
        mark = piece.marks[-1] if piece.marks else mark
        words = round((piece.lead_s + piece.speech_s) * OUTPUT_RATE)
        yield Progress(repeat, seg_index, piece.sentence_index, count, mark=mark), piece.audio[:words]
        mark = piece.end_marks[-1] if piece.end_marks else mark
        if piece.audio.size > words:
            yield Progress(repeat, seg_index, piece.sentence_index, count, mark=mark), piece.audio[words:]
    check_stopped()
    # Silence between segments, as between sentences.
    yield Progress(repeat, seg_index, count - 1, count, mark=mark), silence(request.sentence_pause_s)
