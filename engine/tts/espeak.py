"""espeak-ng through ctypes: IPA phonemes for Piper voices and formant speech for the built-in voice.

The library and its data come from the PyPI wheel ``espeakng-loader``, so a fresh machine needs no apt
step. espeak-ng keeps global state (current voice, parameters, one synthesis callback) and is not
thread-safe: every call goes through one process-wide lock.

That build lacks ``espeak_TextToPhonemesWithTerminator`` (which piper-tts's own bridge calls), so the
clause terminator is read back from the text espeak consumed for the clause; the tests compare the
result with piper-tts's bridge.
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_AUTO = 0
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_POS_CHARACTER = 1
_RATE = 1
_PITCH = 3
_DEFAULT_RATE_WPM = 175

_SENTENCE_END = {".": True, "?": True, "!": True, ",": False, ":": False, ";": False}
_CLOSERS = "\"')]}»”’"
_MARK_RUN = re.compile(r"[.?!,:;…\"')\]}»”’ ]+$")

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Clause:
    """One clause as espeak-ng splits text: IPA phonemes, its punctuation, and whether a sentence ends."""

    phonemes: str
    terminator: str
    end_of_sentence: bool


class EspeakError(RuntimeError):
    pass


def _terminator(consumed: str, at_end: bool) -> tuple[str, bool]:
    """The clause's punctuation mark and whether it ends a sentence, from the text espeak read for it.

    Mirrors espeak-ng's clause types as piper-tts's bridge reports them: espeak reads one character past
    the clause (except at the end of the text); two line breaks end a paragraph (no mark, sentence end);
    in a run of marks the first decides; an ellipsis is a pause, not a sentence end; a mark with no
    letter or digit before it is not a terminator.
    """
    body = consumed if at_end else consumed[:-1]
    stripped = body.rstrip()
    if body[len(stripped) :].count("\n") >= 2:
        return "", True
    run = _MARK_RUN.search(stripped)
    marks = run.group(0).replace(" ", "").strip(_CLOSERS) if run else ""
    before = stripped[: run.start()] if run else stripped
    if not marks or not any(c.isalnum() for c in before):
        return "", at_end
    if marks.startswith(("...", "…")):
        return "", False
    mark = next((c for c in marks if c in _SENTENCE_END), "")
    return (mark, _SENTENCE_END[mark]) if mark else ("", at_end)


class Espeak:
    """The loaded library. Use :func:`espeak` to get the process-wide instance."""

    def __init__(self) -> None:
        import espeakng_loader

        self.data_path = str(espeakng_loader.get_data_path())
        self._lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lock = threading.Lock()
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise EspeakError(f"espeak-ng failed to initialize with data at {self.data_path}")
        self.sample_rate = int(rate)
        self._voice: str | None = None
        self._chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._on_audio)  # kept referenced: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _set_voice(self, voice: str) -> None:
        if voice != self._voice:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}")
            self._voice = voice

    def has_voice(self, voice: str) -> bool:
        with self.lock:
            try:
                self._set_voice(voice)
            except ValueError:
                return False
            return True

    def phonemize(self, voice: str, text: str) -> list[Clause]:
        """Text to IPA phonemes, one entry per clause, as espeak-ng splits it."""
        raw = text.encode("utf-8")
        buf = ctypes.create_string_buffer(raw)
        base = ctypes.addressof(buf)
        pointer = ctypes.c_char_p(base)
        clauses: list[Clause] = []
        with self.lock:
            self._set_voice(voice)
            while True:
                start = ctypes.cast(pointer, ctypes.c_void_p).value
                phonemes = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_AUTO, _PHONEMES_IPA)
                end = ctypes.cast(pointer, ctypes.c_void_p).value
                assert start is not None
                consumed = raw[start - base : len(raw) if end is None else end - base]
                mark, sentence_end = _terminator(consumed.decode("utf-8", "replace"), end is None)
                clauses.append(Clause((phonemes or b"").decode("utf-8"), mark, sentence_end))
                if end is None:
                    return clauses

    def _on_audio(self, wav: ctypes._Pointer, count: int, _events: int) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def synthesize(
        self, voice: str, text: str, rate_wpm: int = _DEFAULT_RATE_WPM, pitch: int = 50
    ) -> np.ndarray:
        """Formant speech for text, float32 mono at :attr:`sample_rate`."""
        data = text.encode("utf-8") + b"\0"
        with self.lock:
            self._set_voice(voice)
            self._lib.espeak_SetParameter(_RATE, int(rate_wpm), 0)
            self._lib.espeak_SetParameter(_PITCH, int(pitch), 0)
            self._chunks = []
            status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            chunks, self._chunks = self._chunks, []
        if status != 0:
            raise EspeakError(f"espeak-ng synthesis failed with status {status}")
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return (np.concatenate(chunks).astype(np.float32) / 32768.0).astype(np.float32)


@cache
def espeak() -> Espeak:
    return Espeak()
