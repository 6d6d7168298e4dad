"""The espeak-ng formant voices: the embedded default, so a fresh machine speaks with no download.

Robotic next to the neural voices, hence quality "fallback"; also the only voice here for Cantonese
(``yue``), which Hoa communities use. Speed maps to espeak's words-per-minute rate.
"""

from __future__ import annotations

from engine.tts.espeak import espeak
from engine.tts.voices.base import SynthesisOptions, VoiceAudio, VoiceInfo, speaker_index

_RATE_WPM = 165  # a little under espeak's 175: announcements are read slowly

# (voice id, espeak voice, language, dialect, name)
BUILTIN = (
    ("espeak-vi", "vi", "vi", "north", "Vietnamese (espeak-ng)"),
    ("espeak-vi-central", "vi-VN-x-central", "vi", "central", "Vietnamese, Central (espeak-ng)"),
    ("espeak-vi-south", "vi-VN-x-south", "vi", "south", "Vietnamese, Southern (espeak-ng)"),
    ("espeak-yue", "yue", "yue", None, "Cantonese (espeak-ng)"),
)


class EspeakVoice:
    def __init__(
        self, voice_id: str, espeak_voice: str, language: str, dialect: str | None, name: str
    ) -> None:
        self.espeak_voice = espeak_voice
        self.info = VoiceInfo(
            id=voice_id,
            family="espeak",
            language=language,
            sample_rate=espeak().sample_rate,
            dialect=dialect,
            licence="GPL-3.0-or-later",
            quality="fallback",
            name=name,
        )

    def synthesize(self, text: str, options: SynthesisOptions) -> VoiceAudio:
        speaker_index(self.info, options.speaker, {})
        rate = round(_RATE_WPM * (options.speed or 1.0))
        audio = espeak().synthesize(self.espeak_voice, text, rate_wpm=max(80, min(rate, 450)))
        return VoiceAudio(audio, self.info.sample_rate)


def builtin_voices() -> list[EspeakVoice]:
    """The built-in voices whose espeak-ng data is present."""
    return [EspeakVoice(*row) for row in BUILTIN if espeak().has_voice(row[1])]
