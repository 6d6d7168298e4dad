import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_FORMAT_UNSPECIFIED: _ClassVar[AudioFormat]
    AUDIO_FORMAT_WAV: _ClassVar[AudioFormat]
    AUDIO_FORMAT_OGG_OPUS: _ClassVar[AudioFormat]
    AUDIO_FORMAT_PCM_S16LE: _ClassVar[AudioFormat]

class ChunkEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHUNK_ENCODING_UNSPECIFIED: _ClassVar[ChunkEncoding]
    CHUNK_ENCODING_PCM_S16LE: _ClassVar[ChunkEncoding]
    CHUNK_ENCODING_OPUS: _ClassVar[ChunkEncoding]

class VoiceFamily(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOICE_FAMILY_UNSPECIFIED: _ClassVar[VoiceFamily]
    VOICE_FAMILY_PIPER: _ClassVar[VoiceFamily]
    VOICE_FAMILY_MMS: _ClassVar[VoiceFamily]
    VOICE_FAMILY_ESPEAK: _ClassVar[VoiceFamily]

class TextFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEXT_FORMAT_UNSPECIFIED: _ClassVar[TextFormat]
    TEXT_FORMAT_PLAIN: _ClassVar[TextFormat]
    TEXT_FORMAT_SSML: _ClassVar[TextFormat]

class LiveAudioFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIVE_AUDIO_FORMAT_UNSPECIFIED: _ClassVar[LiveAudioFormat]
    LIVE_AUDIO_FORMAT_PCM_S16LE: _ClassVar[LiveAudioFormat]
    LIVE_AUDIO_FORMAT_OPUS: _ClassVar[LiveAudioFormat]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
    PRIORITY_EMERGENCY: _ClassVar[Priority]

class BroadcastState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BROADCAST_STATE_UNSPECIFIED: _ClassVar[BroadcastState]
    BROADCAST_STATE_QUEUED: _ClassVar[BroadcastState]
    BROADCAST_STATE_SYNTHESIZING: _ClassVar[BroadcastState]
    BROADCAST_STATE_ON_AIR: _ClassVar[BroadcastState]
    BROADCAST_STATE_PREEMPTED: _ClassVar[BroadcastState]
    BROADCAST_STATE_FINISHED: _ClassVar[BroadcastState]
    BROADCAST_STATE_CANCELLED: _ClassVar[BroadcastState]
    BROADCAST_STATE_FAILED: _ClassVar[BroadcastState]

class ResumeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESUME_MODE_UNSPECIFIED: _ClassVar[ResumeMode]
    RESUME_MODE_FROM_SENTENCE: _ClassVar[ResumeMode]
    RESUME_MODE_REQUEUED: _ClassVar[ResumeMode]
    RESUME_MODE_NOT_RESUMED: _ClassVar[ResumeMode]
    RESUME_MODE_LIVE: _ClassVar[ResumeMode]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_QUEUED: _ClassVar[EventType]
    EVENT_TYPE_SYNTHESIZING: _ClassVar[EventType]
    EVENT_TYPE_ON_AIR: _ClassVar[EventType]
    EVENT_TYPE_PROGRESS: _ClassVar[EventType]
    EVENT_TYPE_PREEMPTED: _ClassVar[EventType]
    EVENT_TYPE_RESUMED: _ClassVar[EventType]
    EVENT_TYPE_FINISHED: _ClassVar[EventType]
    EVENT_TYPE_CANCELLED: _ClassVar[EventType]
    EVENT_TYPE_FAILED: _ClassVar[EventType]

class Weekday(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEEKDAY_UNSPECIFIED: _ClassVar[Weekday]
    WEEKDAY_MONDAY: _ClassVar[Weekday]
    WEEKDAY_TUESDAY: _ClassVar[Weekday]
    WEEKDAY_WEDNESDAY: _ClassVar[Weekday]
    WEEKDAY_THURSDAY: _ClassVar[Weekday]
    WEEKDAY_FRIDAY: _ClassVar[Weekday]
    WEEKDAY_SATURDAY: _ClassVar[Weekday]
    WEEKDAY_SUNDAY: _ClassVar[Weekday]

class OccurrenceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OCCURRENCE_STATE_UNSPECIFIED: _ClassVar[OccurrenceState]
    OCCURRENCE_STATE_SCHEDULED: _ClassVar[OccurrenceState]
    OCCURRENCE_STATE_MISSED: _ClassVar[OccurrenceState]
    OCCURRENCE_STATE_SKIPPED: _ClassVar[OccurrenceState]
    OCCURRENCE_STATE_FAILED: _ClassVar[OccurrenceState]
AUDIO_FORMAT_UNSPECIFIED: AudioFormat
AUDIO_FORMAT_WAV: AudioFormat
AUDIO_FORMAT_OGG_OPUS: AudioFormat
AUDIO_FORMAT_PCM_S16LE: AudioFormat
CHUNK_ENCODING_UNSPECIFIED: ChunkEncoding
CHUNK_ENCODING_PCM_S16LE: ChunkEncoding
CHUNK_ENCODING_OPUS: ChunkEncoding
VOICE_FAMILY_UNSPECIFIED: VoiceFamily
VOICE_FAMILY_PIPER: VoiceFamily
VOICE_FAMILY_MMS: VoiceFamily
VOICE_FAMILY_ESPEAK: VoiceFamily
TEXT_FORMAT_UNSPECIFIED: TextFormat
TEXT_FORMAT_PLAIN: TextFormat
TEXT_FORMAT_SSML: TextFormat
LIVE_AUDIO_FORMAT_UNSPECIFIED: LiveAudioFormat
LIVE_AUDIO_FORMAT_PCM_S16LE: LiveAudioFormat
LIVE_AUDIO_FORMAT_OPUS: LiveAudioFormat
PRIORITY_UNSPECIFIED: Priority
PRIORITY_NORMAL: Priority
PRIORITY_HIGH: Priority
PRIORITY_EMERGENCY: Priority
BROADCAST_STATE_UNSPECIFIED: BroadcastState
BROADCAST_STATE_QUEUED: BroadcastState
BROADCAST_STATE_SYNTHESIZING: BroadcastState
BROADCAST_STATE_ON_AIR: BroadcastState
BROADCAST_STATE_PREEMPTED: BroadcastState
BROADCAST_STATE_FINISHED: BroadcastState
BROADCAST_STATE_CANCELLED: BroadcastState
BROADCAST_STATE_FAILED: BroadcastState
RESUME_MODE_UNSPECIFIED: ResumeMode
RESUME_MODE_FROM_SENTENCE: ResumeMode
RESUME_MODE_REQUEUED: ResumeMode
RESUME_MODE_NOT_RESUMED: ResumeMode
RESUME_MODE_LIVE: ResumeMode
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_QUEUED: EventType
EVENT_TYPE_SYNTHESIZING: EventType
EVENT_TYPE_ON_AIR: EventType
EVENT_TYPE_PROGRESS: EventType
EVENT_TYPE_PREEMPTED: EventType
EVENT_TYPE_RESUMED: EventType
EVENT_TYPE_FINISHED: EventType
EVENT_TYPE_CANCELLED: EventType
EVENT_TYPE_FAILED: EventType
WEEKDAY_UNSPECIFIED: Weekday
WEEKDAY_MONDAY: Weekday
WEEKDAY_TUESDAY: Weekday
WEEKDAY_WEDNESDAY: Weekday
WEEKDAY_THURSDAY: Weekday
WEEKDAY_FRIDAY: Weekday
WEEKDAY_SATURDAY: Weekday
WEEKDAY_SUNDAY: Weekday
OCCURRENCE_STATE_UNSPECIFIED: OccurrenceState
OCCURRENCE_STATE_SCHEDULED: OccurrenceState
OCCURRENCE_STATE_MISSED: OccurrenceState
OCCURRENCE_STATE_SKIPPED: OccurrenceState
OCCURRENCE_STATE_FAILED: OccurrenceState

class VoiceSettings(_message.Message):
    __slots__ = ("voice_id", "speaker", "speed", "noise_scale", "noise_w")
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    NOISE_SCALE_FIELD_NUMBER: _ClassVar[int]
    NOISE_W_FIELD_NUMBER: _ClassVar[int]
    voice_id: str
    speaker: str
    speed: float
    noise_scale: float
    noise_w: float
    def __init__(self, voice_id: _Optional[str] = ..., speaker: _Optional[str] = ..., speed: _Optional[float] = ..., noise_scale: _Optional[float] = ..., noise_w: _Optional[float] = ...) -> None: ...

class SynthesizeRequest(_message.Message):
    __slots__ = ("text", "language", "dialect", "voice", "format", "chunk_encoding", "sample_rate_hz", "sentence_pause", "chime", "text_format", "group_ids")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_PAUSE_FIELD_NUMBER: _ClassVar[int]
    CHIME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    text: str
    language: str
    dialect: str
    voice: VoiceSettings
    format: AudioFormat
    chunk_encoding: ChunkEncoding
    sample_rate_hz: int
    sentence_pause: _duration_pb2.Duration
    chime: bool
    text_format: TextFormat
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, text: _Optional[str] = ..., language: _Optional[str] = ..., dialect: _Optional[str] = ..., voice: _Optional[_Union[VoiceSettings, _Mapping]] = ..., format: _Optional[_Union[AudioFormat, str]] = ..., chunk_encoding: _Optional[_Union[ChunkEncoding, str]] = ..., sample_rate_hz: _Optional[int] = ..., sentence_pause: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., chime: _Optional[bool] = ..., text_format: _Optional[_Union[TextFormat, str]] = ..., group_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Timepoint(_message.Message):
    __slots__ = ("mark_name", "time")
    MARK_NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    mark_name: str
    time: _duration_pb2.Duration
    def __init__(self, mark_name: _Optional[str] = ..., time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SynthesizeResponse(_message.Message):
    __slots__ = ("audio", "format", "sample_rate_hz", "duration", "normalized_text", "warnings", "voice_id", "cached", "timepoints")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_TEXT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    TIMEPOINTS_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    format: AudioFormat
    sample_rate_hz: int
    duration: _duration_pb2.Duration
    normalized_text: str
    warnings: _containers.RepeatedCompositeFieldContainer[NormalizeWarning]
    voice_id: str
    cached: bool
    timepoints: _containers.RepeatedCompositeFieldContainer[Timepoint]
    def __init__(self, audio: _Optional[bytes] = ..., format: _Optional[_Union[AudioFormat, str]] = ..., sample_rate_hz: _Optional[int] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., normalized_text: _Optional[str] = ..., warnings: _Optional[_Iterable[_Union[NormalizeWarning, _Mapping]]] = ..., voice_id: _Optional[str] = ..., cached: _Optional[bool] = ..., timepoints: _Optional[_Iterable[_Union[Timepoint, _Mapping]]] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("encoding", "pcm", "opus_packets", "sample_rate_hz", "sentence_index", "source_span", "text", "offset", "duration", "last", "warnings", "timepoints", "language")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    PCM_FIELD_NUMBER: _ClassVar[int]
    OPUS_PACKETS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SPAN_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    TIMEPOINTS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    encoding: ChunkEncoding
    pcm: bytes
    opus_packets: _containers.RepeatedScalarFieldContainer[bytes]
    sample_rate_hz: int
    sentence_index: int
    source_span: TextSpan
    text: str
    offset: _duration_pb2.Duration
    duration: _duration_pb2.Duration
    last: bool
    warnings: _containers.RepeatedCompositeFieldContainer[NormalizeWarning]
    timepoints: _containers.RepeatedCompositeFieldContainer[Timepoint]
    language: str
    def __init__(self, encoding: _Optional[_Union[ChunkEncoding, str]] = ..., pcm: _Optional[bytes] = ..., opus_packets: _Optional[_Iterable[bytes]] = ..., sample_rate_hz: _Optional[int] = ..., sentence_index: _Optional[int] = ..., source_span: _Optional[_Union[TextSpan, _Mapping]] = ..., text: _Optional[str] = ..., offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., last: _Optional[bool] = ..., warnings: _Optional[_Iterable[_Union[NormalizeWarning, _Mapping]]] = ..., timepoints: _Optional[_Iterable[_Union[Timepoint, _Mapping]]] = ..., language: _Optional[str] = ...) -> None: ...

class TextSpan(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class NormalizeRequest(_message.Message):
    __slots__ = ("text", "language", "dialect", "text_format", "group_ids")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    text: str
    language: str
    dialect: str
    text_format: TextFormat
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, text: _Optional[str] = ..., language: _Optional[str] = ..., dialect: _Optional[str] = ..., text_format: _Optional[_Union[TextFormat, str]] = ..., group_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class NormalizeResponse(_message.Message):
    __slots__ = ("normalized_text", "sentences", "warnings", "lexicon")
    NORMALIZED_TEXT_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    LEXICON_FIELD_NUMBER: _ClassVar[int]
    normalized_text: str
    sentences: _containers.RepeatedCompositeFieldContainer[NormalizedSentence]
    warnings: _containers.RepeatedCompositeFieldContainer[NormalizeWarning]
    lexicon: _containers.RepeatedCompositeFieldContainer[AppliedLexiconEntry]
    def __init__(self, normalized_text: _Optional[str] = ..., sentences: _Optional[_Iterable[_Union[NormalizedSentence, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[NormalizeWarning, _Mapping]]] = ..., lexicon: _Optional[_Iterable[_Union[AppliedLexiconEntry, _Mapping]]] = ...) -> None: ...

class AppliedLexiconEntry(_message.Message):
    __slots__ = ("written", "spoken", "deployment", "sentence_index", "source_span")
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    SPOKEN_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SPAN_FIELD_NUMBER: _ClassVar[int]
    written: str
    spoken: str
    deployment: bool
    sentence_index: int
    source_span: TextSpan
    def __init__(self, written: _Optional[str] = ..., spoken: _Optional[str] = ..., deployment: _Optional[bool] = ..., sentence_index: _Optional[int] = ..., source_span: _Optional[_Union[TextSpan, _Mapping]] = ...) -> None: ...

class NormalizedSentence(_message.Message):
    __slots__ = ("text", "source_span", "clauses", "language")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SPAN_FIELD_NUMBER: _ClassVar[int]
    CLAUSES_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    source_span: TextSpan
    clauses: _containers.RepeatedScalarFieldContainer[str]
    language: str
    def __init__(self, text: _Optional[str] = ..., source_span: _Optional[_Union[TextSpan, _Mapping]] = ..., clauses: _Optional[_Iterable[str]] = ..., language: _Optional[str] = ...) -> None: ...

class NormalizeWarning(_message.Message):
    __slots__ = ("code", "message", "source_span", "source_text", "spoken_as")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SPAN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TEXT_FIELD_NUMBER: _ClassVar[int]
    SPOKEN_AS_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    source_span: TextSpan
    source_text: str
    spoken_as: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., source_span: _Optional[_Union[TextSpan, _Mapping]] = ..., source_text: _Optional[str] = ..., spoken_as: _Optional[str] = ...) -> None: ...

class ListVoicesRequest(_message.Message):
    __slots__ = ("language", "installed_only")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_ONLY_FIELD_NUMBER: _ClassVar[int]
    language: str
    installed_only: bool
    def __init__(self, language: _Optional[str] = ..., installed_only: _Optional[bool] = ...) -> None: ...

class ListVoicesResponse(_message.Message):
    __slots__ = ("voices",)
    VOICES_FIELD_NUMBER: _ClassVar[int]
    voices: _containers.RepeatedCompositeFieldContainer[Voice]
    def __init__(self, voices: _Optional[_Iterable[_Union[Voice, _Mapping]]] = ...) -> None: ...

class Voice(_message.Message):
    __slots__ = ("id", "language", "dialect", "family", "sample_rate_hz", "speakers", "licence", "quality", "installed", "description", "size_bytes")
    ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SPEAKERS_FIELD_NUMBER: _ClassVar[int]
    LICENCE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    language: str
    dialect: str
    family: VoiceFamily
    sample_rate_hz: int
    speakers: _containers.RepeatedScalarFieldContainer[str]
    licence: str
    quality: str
    installed: bool
    description: str
    size_bytes: int
    def __init__(self, id: _Optional[str] = ..., language: _Optional[str] = ..., dialect: _Optional[str] = ..., family: _Optional[_Union[VoiceFamily, str]] = ..., sample_rate_hz: _Optional[int] = ..., speakers: _Optional[_Iterable[str]] = ..., licence: _Optional[str] = ..., quality: _Optional[str] = ..., installed: _Optional[bool] = ..., description: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class LexiconEntry(_message.Message):
    __slots__ = ("written", "spoken", "language", "note", "update_time", "updated_by", "version", "group_id")
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    SPOKEN_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    written: str
    spoken: str
    language: str
    note: str
    update_time: _timestamp_pb2.Timestamp
    updated_by: str
    version: int
    group_id: str
    def __init__(self, written: _Optional[str] = ..., spoken: _Optional[str] = ..., language: _Optional[str] = ..., note: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ..., version: _Optional[int] = ..., group_id: _Optional[str] = ...) -> None: ...

class ListLexiconEntriesRequest(_message.Message):
    __slots__ = ("language", "group_id")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    language: str
    group_id: str
    def __init__(self, language: _Optional[str] = ..., group_id: _Optional[str] = ...) -> None: ...

class ListLexiconEntriesResponse(_message.Message):
    __slots__ = ("entries", "version")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LexiconEntry]
    version: int
    def __init__(self, entries: _Optional[_Iterable[_Union[LexiconEntry, _Mapping]]] = ..., version: _Optional[int] = ...) -> None: ...

class PutLexiconEntryRequest(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: LexiconEntry
    def __init__(self, entry: _Optional[_Union[LexiconEntry, _Mapping]] = ...) -> None: ...

class DeleteLexiconEntryRequest(_message.Message):
    __slots__ = ("language", "written", "group_id")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    language: str
    written: str
    group_id: str
    def __init__(self, language: _Optional[str] = ..., written: _Optional[str] = ..., group_id: _Optional[str] = ...) -> None: ...

class DeleteLexiconEntryResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class LiveSource(_message.Message):
    __slots__ = ("url", "backup_urls", "duration", "end_time", "live_voice")
    URL_FIELD_NUMBER: _ClassVar[int]
    BACKUP_URLS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LIVE_VOICE_FIELD_NUMBER: _ClassVar[int]
    url: str
    backup_urls: _containers.RepeatedScalarFieldContainer[str]
    duration: _duration_pb2.Duration
    end_time: _timestamp_pb2.Timestamp
    live_voice: bool
    def __init__(self, url: _Optional[str] = ..., backup_urls: _Optional[_Iterable[str]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., live_voice: _Optional[bool] = ...) -> None: ...

class LiveVoiceHeader(_message.Message):
    __slots__ = ("group_ids", "priority", "title", "format", "sample_rate", "max_duration", "requested_by")
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    priority: Priority
    title: str
    format: LiveAudioFormat
    sample_rate: int
    max_duration: _duration_pb2.Duration
    requested_by: str
    def __init__(self, group_ids: _Optional[_Iterable[str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., title: _Optional[str] = ..., format: _Optional[_Union[LiveAudioFormat, str]] = ..., sample_rate: _Optional[int] = ..., max_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., requested_by: _Optional[str] = ...) -> None: ...

class LiveVoiceRequest(_message.Message):
    __slots__ = ("header", "audio")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    header: LiveVoiceHeader
    audio: bytes
    def __init__(self, header: _Optional[_Union[LiveVoiceHeader, _Mapping]] = ..., audio: _Optional[bytes] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("language", "dialect", "text", "audio", "live", "voice", "text_format")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    language: str
    dialect: str
    text: str
    audio: bytes
    live: LiveSource
    voice: VoiceSettings
    text_format: TextFormat
    def __init__(self, language: _Optional[str] = ..., dialect: _Optional[str] = ..., text: _Optional[str] = ..., audio: _Optional[bytes] = ..., live: _Optional[_Union[LiveSource, _Mapping]] = ..., voice: _Optional[_Union[VoiceSettings, _Mapping]] = ..., text_format: _Optional[_Union[TextFormat, str]] = ...) -> None: ...

class CreateBroadcastRequest(_message.Message):
    __slots__ = ("segments", "group_ids", "priority", "start_time", "repeat_count", "repeat_gap", "chime", "idempotency_key", "title", "requested_by", "sentence_pause")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    REPEAT_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPEAT_GAP_FIELD_NUMBER: _ClassVar[int]
    CHIME_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_PAUSE_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    priority: Priority
    start_time: _timestamp_pb2.Timestamp
    repeat_count: int
    repeat_gap: _duration_pb2.Duration
    chime: bool
    idempotency_key: str
    title: str
    requested_by: str
    sentence_pause: _duration_pb2.Duration
    def __init__(self, segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ..., group_ids: _Optional[_Iterable[str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., repeat_count: _Optional[int] = ..., repeat_gap: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., chime: _Optional[bool] = ..., idempotency_key: _Optional[str] = ..., title: _Optional[str] = ..., requested_by: _Optional[str] = ..., sentence_pause: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Broadcast(_message.Message):
    __slots__ = ("id", "title", "segments", "group_ids", "priority", "state", "create_time", "start_time", "air_time", "end_time", "repeat_count", "repeat_gap", "chime", "idempotency_key", "requested_by", "progress", "failure_reason", "interruptions", "sentence_pause", "created_by", "schedule_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    AIR_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REPEAT_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPEAT_GAP_FIELD_NUMBER: _ClassVar[int]
    CHIME_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTIONS_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_PAUSE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    priority: Priority
    state: BroadcastState
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    air_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    repeat_count: int
    repeat_gap: _duration_pb2.Duration
    chime: bool
    idempotency_key: str
    requested_by: str
    progress: Progress
    failure_reason: str
    interruptions: _containers.RepeatedCompositeFieldContainer[Interruption]
    sentence_pause: _duration_pb2.Duration
    created_by: Caller
    schedule_id: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ..., group_ids: _Optional[_Iterable[str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., state: _Optional[_Union[BroadcastState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., air_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., repeat_count: _Optional[int] = ..., repeat_gap: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., chime: _Optional[bool] = ..., idempotency_key: _Optional[str] = ..., requested_by: _Optional[str] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., failure_reason: _Optional[str] = ..., interruptions: _Optional[_Iterable[_Union[Interruption, _Mapping]]] = ..., sentence_pause: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., created_by: _Optional[_Union[Caller, _Mapping]] = ..., schedule_id: _Optional[str] = ...) -> None: ...

class Caller(_message.Message):
    __slots__ = ("token_id", "name", "role")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    name: str
    role: str
    def __init__(self, token_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("repeat_index", "segment_index", "sentence_index", "sentence_count", "aired", "total", "mark")
    REPEAT_INDEX_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    AIRED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    repeat_index: int
    segment_index: int
    sentence_index: int
    sentence_count: int
    aired: _duration_pb2.Duration
    total: _duration_pb2.Duration
    mark: str
    def __init__(self, repeat_index: _Optional[int] = ..., segment_index: _Optional[int] = ..., sentence_index: _Optional[int] = ..., sentence_count: _Optional[int] = ..., aired: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., total: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., mark: _Optional[str] = ...) -> None: ...

class Interruption(_message.Message):
    __slots__ = ("start_time", "end_time", "by_broadcast_id", "by_priority", "reason", "resume_mode", "at")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BY_BROADCAST_ID_FIELD_NUMBER: _ClassVar[int]
    BY_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESUME_MODE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    by_broadcast_id: str
    by_priority: Priority
    reason: str
    resume_mode: ResumeMode
    at: Progress
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., by_broadcast_id: _Optional[str] = ..., by_priority: _Optional[_Union[Priority, str]] = ..., reason: _Optional[str] = ..., resume_mode: _Optional[_Union[ResumeMode, str]] = ..., at: _Optional[_Union[Progress, _Mapping]] = ...) -> None: ...

class GetBroadcastRequest(_message.Message):
    __slots__ = ("broadcast_id",)
    BROADCAST_ID_FIELD_NUMBER: _ClassVar[int]
    broadcast_id: str
    def __init__(self, broadcast_id: _Optional[str] = ...) -> None: ...

class ListBroadcastsRequest(_message.Message):
    __slots__ = ("states", "group_id", "created_after", "created_before", "page_size", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[BroadcastState]
    group_id: str
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[BroadcastState, str]]] = ..., group_id: _Optional[str] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBroadcastsResponse(_message.Message):
    __slots__ = ("broadcasts", "next_page_token")
    BROADCASTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    broadcasts: _containers.RepeatedCompositeFieldContainer[Broadcast]
    next_page_token: str
    def __init__(self, broadcasts: _Optional[_Iterable[_Union[Broadcast, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelBroadcastRequest(_message.Message):
    __slots__ = ("broadcast_id", "reason")
    BROADCAST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    broadcast_id: str
    reason: str
    def __init__(self, broadcast_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WatchBroadcastRequest(_message.Message):
    __slots__ = ("broadcast_id",)
    BROADCAST_ID_FIELD_NUMBER: _ClassVar[int]
    broadcast_id: str
    def __init__(self, broadcast_id: _Optional[str] = ...) -> None: ...

class BroadcastEvent(_message.Message):
    __slots__ = ("broadcast_id", "type", "time", "state", "progress", "message")
    BROADCAST_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    broadcast_id: str
    type: EventType
    time: _timestamp_pb2.Timestamp
    state: BroadcastState
    progress: Progress
    message: str
    def __init__(self, broadcast_id: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[BroadcastState, str]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("id", "name", "multicast_address", "port", "ttl", "interface", "opus_bitrate_bps", "fec", "expected_loss_percent", "playout_delay", "emergency", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MULTICAST_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    INTERFACE_FIELD_NUMBER: _ClassVar[int]
    OPUS_BITRATE_BPS_FIELD_NUMBER: _ClassVar[int]
    FEC_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LOSS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PLAYOUT_DELAY_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    multicast_address: str
    port: int
    ttl: int
    interface: str
    opus_bitrate_bps: int
    fec: bool
    expected_loss_percent: int
    playout_delay: _duration_pb2.Duration
    emergency: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., multicast_address: _Optional[str] = ..., port: _Optional[int] = ..., ttl: _Optional[int] = ..., interface: _Optional[str] = ..., opus_bitrate_bps: _Optional[int] = ..., fec: _Optional[bool] = ..., expected_loss_percent: _Optional[int] = ..., playout_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., emergency: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class GetGroupRequest(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class UpdateGroupRequest(_message.Message):
    __slots__ = ("group", "update_mask")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    group: Group
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteGroupRequest(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class DeleteGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...

class ListSpeakersRequest(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class ListSpeakersResponse(_message.Message):
    __slots__ = ("speakers",)
    SPEAKERS_FIELD_NUMBER: _ClassVar[int]
    speakers: _containers.RepeatedCompositeFieldContainer[Speaker]
    def __init__(self, speakers: _Optional[_Iterable[_Union[Speaker, _Mapping]]] = ...) -> None: ...

class Speaker(_message.Message):
    __slots__ = ("cname", "group_id", "address", "last_report_time", "fraction_lost", "packets_lost", "jitter", "round_trip", "playout_offset", "underruns", "playing_priority", "online", "rejected_packets", "cluster_id")
    CNAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LAST_REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    FRACTION_LOST_FIELD_NUMBER: _ClassVar[int]
    PACKETS_LOST_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    ROUND_TRIP_FIELD_NUMBER: _ClassVar[int]
    PLAYOUT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    UNDERRUNS_FIELD_NUMBER: _ClassVar[int]
    PLAYING_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_PACKETS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    cname: str
    group_id: str
    address: str
    last_report_time: _timestamp_pb2.Timestamp
    fraction_lost: float
    packets_lost: int
    jitter: _duration_pb2.Duration
    round_trip: _duration_pb2.Duration
    playout_offset: _duration_pb2.Duration
    underruns: int
    playing_priority: Priority
    online: bool
    rejected_packets: int
    cluster_id: str
    def __init__(self, cname: _Optional[str] = ..., group_id: _Optional[str] = ..., address: _Optional[str] = ..., last_report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fraction_lost: _Optional[float] = ..., packets_lost: _Optional[int] = ..., jitter: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., round_trip: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., playout_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., underruns: _Optional[int] = ..., playing_priority: _Optional[_Union[Priority, str]] = ..., online: _Optional[bool] = ..., rejected_packets: _Optional[int] = ..., cluster_id: _Optional[str] = ...) -> None: ...

class GetGroupKeysRequest(_message.Message):
    __slots__ = ("group_ids",)
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SrtpMasterKey(_message.Message):
    __slots__ = ("mki", "master_key", "master_salt", "not_before", "not_after")
    MKI_FIELD_NUMBER: _ClassVar[int]
    MASTER_KEY_FIELD_NUMBER: _ClassVar[int]
    MASTER_SALT_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    mki: int
    master_key: bytes
    master_salt: bytes
    not_before: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    def __init__(self, mki: _Optional[int] = ..., master_key: _Optional[bytes] = ..., master_salt: _Optional[bytes] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GroupKeyRing(_message.Message):
    __slots__ = ("group_id", "multicast_address", "port", "keys")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    MULTICAST_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    multicast_address: str
    port: int
    keys: _containers.RepeatedCompositeFieldContainer[SrtpMasterKey]
    def __init__(self, group_id: _Optional[str] = ..., multicast_address: _Optional[str] = ..., port: _Optional[int] = ..., keys: _Optional[_Iterable[_Union[SrtpMasterKey, _Mapping]]] = ...) -> None: ...

class RotateGroupKeysRequest(_message.Message):
    __slots__ = ("group_ids", "lead", "overlap")
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    lead: _duration_pb2.Duration
    overlap: _duration_pb2.Duration
    def __init__(self, group_ids: _Optional[_Iterable[str]] = ..., lead: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., overlap: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RotateGroupKeysResponse(_message.Message):
    __slots__ = ("groups", "provisioning_file")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    PROVISIONING_FILE_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[GroupKeyRing]
    provisioning_file: str
    def __init__(self, groups: _Optional[_Iterable[_Union[GroupKeyRing, _Mapping]]] = ..., provisioning_file: _Optional[str] = ...) -> None: ...

class GetGroupKeysResponse(_message.Message):
    __slots__ = ("groups", "provisioning_file")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    PROVISIONING_FILE_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[GroupKeyRing]
    provisioning_file: str
    def __init__(self, groups: _Optional[_Iterable[_Union[GroupKeyRing, _Mapping]]] = ..., provisioning_file: _Optional[str] = ...) -> None: ...

class Cluster(_message.Message):
    __slots__ = ("id", "group_ids", "create_time", "update_time", "revoke_time", "online", "connect_time", "disconnect_time", "last_seen_time", "reconnects", "version", "uptime", "network", "error", "temperature_c")
    ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIME_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_C_FIELD_NUMBER: _ClassVar[int]
    id: str
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    online: bool
    connect_time: _timestamp_pb2.Timestamp
    disconnect_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    reconnects: int
    version: str
    uptime: _duration_pb2.Duration
    network: str
    error: str
    temperature_c: float
    def __init__(self, id: _Optional[str] = ..., group_ids: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., online: _Optional[bool] = ..., connect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., disconnect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reconnects: _Optional[int] = ..., version: _Optional[str] = ..., uptime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., network: _Optional[str] = ..., error: _Optional[str] = ..., temperature_c: _Optional[float] = ...) -> None: ...

class CreateClusterRequest(_message.Message):
    __slots__ = ("cluster_id", "group_ids")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster_id: _Optional[str] = ..., group_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateClusterResponse(_message.Message):
    __slots__ = ("cluster", "provisioning_bundle", "raised_delay_group_ids")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    PROVISIONING_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    RAISED_DELAY_GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    cluster: Cluster
    provisioning_bundle: str
    raised_delay_group_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster: _Optional[_Union[Cluster, _Mapping]] = ..., provisioning_bundle: _Optional[str] = ..., raised_delay_group_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetClusterRequest(_message.Message):
    __slots__ = ("cluster_id",)
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    def __init__(self, cluster_id: _Optional[str] = ...) -> None: ...

class ListClustersRequest(_message.Message):
    __slots__ = ("group_id", "include_revoked")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    include_revoked: bool
    def __init__(self, group_id: _Optional[str] = ..., include_revoked: _Optional[bool] = ...) -> None: ...

class ListClustersResponse(_message.Message):
    __slots__ = ("clusters",)
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedCompositeFieldContainer[Cluster]
    def __init__(self, clusters: _Optional[_Iterable[_Union[Cluster, _Mapping]]] = ...) -> None: ...

class UpdateClusterRequest(_message.Message):
    __slots__ = ("cluster_id", "group_ids", "new_password")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    new_password: bool
    def __init__(self, cluster_id: _Optional[str] = ..., group_ids: _Optional[_Iterable[str]] = ..., new_password: _Optional[bool] = ...) -> None: ...

class UpdateClusterResponse(_message.Message):
    __slots__ = ("cluster", "provisioning_bundle", "raised_delay_group_ids")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    PROVISIONING_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    RAISED_DELAY_GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    cluster: Cluster
    provisioning_bundle: str
    raised_delay_group_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster: _Optional[_Union[Cluster, _Mapping]] = ..., provisioning_bundle: _Optional[str] = ..., raised_delay_group_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RevokeClusterRequest(_message.Message):
    __slots__ = ("cluster_id",)
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    def __init__(self, cluster_id: _Optional[str] = ...) -> None: ...

class ListPlayReportsRequest(_message.Message):
    __slots__ = ("cluster_id", "bulletin_id", "start_time", "end_time", "page_size")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    BULLETIN_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    bulletin_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    def __init__(self, cluster_id: _Optional[str] = ..., bulletin_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ...) -> None: ...

class PlayReport(_message.Message):
    __slots__ = ("cluster_id", "bulletin_id", "airing", "start_time", "end_time", "frames_played", "frames_concealed", "frames_lost", "stop_reason", "receive_time")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    BULLETIN_ID_FIELD_NUMBER: _ClassVar[int]
    AIRING_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PLAYED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_CONCEALED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_LOST_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    bulletin_id: str
    airing: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    frames_played: int
    frames_concealed: int
    frames_lost: int
    stop_reason: str
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, cluster_id: _Optional[str] = ..., bulletin_id: _Optional[str] = ..., airing: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., frames_played: _Optional[int] = ..., frames_concealed: _Optional[int] = ..., frames_lost: _Optional[int] = ..., stop_reason: _Optional[str] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MissedBulletin(_message.Message):
    __slots__ = ("cluster_id", "group_id", "bulletin_id", "airing", "air_time", "end_time")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    BULLETIN_ID_FIELD_NUMBER: _ClassVar[int]
    AIRING_FIELD_NUMBER: _ClassVar[int]
    AIR_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    group_id: str
    bulletin_id: str
    airing: int
    air_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, cluster_id: _Optional[str] = ..., group_id: _Optional[str] = ..., bulletin_id: _Optional[str] = ..., airing: _Optional[int] = ..., air_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListPlayReportsResponse(_message.Message):
    __slots__ = ("reports", "missed")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[PlayReport]
    missed: _containers.RepeatedCompositeFieldContainer[MissedBulletin]
    def __init__(self, reports: _Optional[_Iterable[_Union[PlayReport, _Mapping]]] = ..., missed: _Optional[_Iterable[_Union[MissedBulletin, _Mapping]]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("time_zone", "version", "time")
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    version: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, time_zone: _Optional[str] = ..., version: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Recurrence(_message.Message):
    __slots__ = ("time_zone", "times", "weekdays", "first_date", "last_date", "exception_dates")
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    FIRST_DATE_FIELD_NUMBER: _ClassVar[int]
    LAST_DATE_FIELD_NUMBER: _ClassVar[int]
    EXCEPTION_DATES_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    times: _containers.RepeatedScalarFieldContainer[str]
    weekdays: _containers.RepeatedScalarFieldContainer[Weekday]
    first_date: str
    last_date: str
    exception_dates: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, time_zone: _Optional[str] = ..., times: _Optional[_Iterable[str]] = ..., weekdays: _Optional[_Iterable[_Union[Weekday, str]]] = ..., first_date: _Optional[str] = ..., last_date: _Optional[str] = ..., exception_dates: _Optional[_Iterable[str]] = ...) -> None: ...

class Occurrence(_message.Message):
    __slots__ = ("time", "state", "broadcast_id", "reason")
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BROADCAST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    state: OccurrenceState
    broadcast_id: str
    reason: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[OccurrenceState, str]] = ..., broadcast_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("id", "template", "recurrence", "paused", "create_time", "update_time", "created_by", "next_time", "recent")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    NEXT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    template: CreateBroadcastRequest
    recurrence: Recurrence
    paused: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    created_by: Caller
    next_time: _timestamp_pb2.Timestamp
    recent: _containers.RepeatedCompositeFieldContainer[Occurrence]
    def __init__(self, id: _Optional[str] = ..., template: _Optional[_Union[CreateBroadcastRequest, _Mapping]] = ..., recurrence: _Optional[_Union[Recurrence, _Mapping]] = ..., paused: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[_Union[Caller, _Mapping]] = ..., next_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recent: _Optional[_Iterable[_Union[Occurrence, _Mapping]]] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ("schedule_id",)
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules",)
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ...) -> None: ...

class UpdateScheduleRequest(_message.Message):
    __slots__ = ("schedule_id", "paused", "add_exception_dates", "remove_exception_dates")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    ADD_EXCEPTION_DATES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_EXCEPTION_DATES_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    paused: bool
    add_exception_dates: _containers.RepeatedScalarFieldContainer[str]
    remove_exception_dates: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, schedule_id: _Optional[str] = ..., paused: _Optional[bool] = ..., add_exception_dates: _Optional[_Iterable[str]] = ..., remove_exception_dates: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteScheduleRequest(_message.Message):
    __slots__ = ("schedule_id",)
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ...) -> None: ...

class DeleteScheduleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
