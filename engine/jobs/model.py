"""Plain data of the broadcast queue: groups, broadcasts, their progress, interruptions and events.

The enums carry the numbers of the gRPC API (protos/loa/v1/loa.proto), so the servicers convert with
``Priority(msg.priority)`` and ``loa_pb2.BroadcastState.Value`` is never needed. Times are float seconds
since the Unix epoch (UTC) and durations are float seconds: the servicers turn them into Timestamp and
Duration at the edge.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum

from streaming.priority import Priority


class BroadcastState(IntEnum):
    QUEUED = 1
    SYNTHESIZING = 2
    ON_AIR = 3
    PREEMPTED = 4
    FINISHED = 5
    CANCELLED = 6
    FAILED = 7

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({BroadcastState.FINISHED, BroadcastState.CANCELLED, BroadcastState.FAILED})
# States in which a broadcast holds its groups: the speakers are hearing it, or about to.
AIRING_STATES = frozenset({BroadcastState.SYNTHESIZING, BroadcastState.ON_AIR})


class EventType(IntEnum):
    QUEUED = 1
    SYNTHESIZING = 2
    ON_AIR = 3
    PROGRESS = 4
    PREEMPTED = 5
    RESUMED = 6
    FINISHED = 7
    CANCELLED = 8
    FAILED = 9


class ResumeMode(IntEnum):
    FROM_SENTENCE = 1  # resumed at the start of the sentence it was cut in
    REQUEUED = 2  # aired again from the start
    NOT_RESUMED = 3  # cancelled or failed while held back
    LIVE = 4  # a live source rejoined at the present (never where it was cut); also a gap the source left


DEFAULT_TTL = 16
DEFAULT_OPUS_BITRATE_BPS = 32000
DEFAULT_PLAYOUT_DELAY_S = 0.5


@dataclass(frozen=True)
class Group:
    """Loudspeakers sharing one multicast stream. Zero ttl / bitrate / playout delay mean the default."""

    id: str
    name: str = ""
    multicast_address: str = ""
    port: int = 5004
    ttl: int = DEFAULT_TTL
    interface: str = ""
    opus_bitrate_bps: int = DEFAULT_OPUS_BITRATE_BPS
    fec: bool = False
    expected_loss_percent: int = 0
    playout_delay_s: float = DEFAULT_PLAYOUT_DELAY_S
    emergency: bool = False
    create_time: float = 0.0  # set by the store
    update_time: float = 0.0


GROUP_FIELDS = tuple(
    f.name for f in dataclasses.fields(Group) if f.name not in ("id", "create_time", "update_time")
)


LIVE_RELAY = "relay"  # a station's stream the server pulls (engine/live/relay.py)
LIVE_VOICE = "voice"  # an operator's microphone pushed over AirLiveVoice (engine/live/voice.py)


@dataclass(frozen=True)
class LiveSource:
    """A segment aired from a live source (engine/jobs/live_segment.py). It ends at ``end_time`` or once
    ``duration_s`` of it has aired (cuts by a higher priority do not count; the resumed part rejoins the
    source at the present), whichever comes first, or when the source ends (a live voice's client)."""

    url: str = ""  # a relay's stream; empty for a live voice
    backup_urls: tuple[str, ...] = ()
    duration_s: float | None = None
    end_time: float | None = None  # Unix seconds
    kind: str = LIVE_RELAY  # LIVE_RELAY or LIVE_VOICE (set by the server, never by CreateBroadcast)


@dataclass(frozen=True)
class Segment:
    """One part of a bulletin: exactly one of text, audio (a WAV or Ogg/Opus file) and a live source."""

    language: str = ""
    dialect: str = ""
    text: str | None = None
    audio: bytes | None = None
    voice_id: str = ""  # empty: the best installed voice for the language
    speaker: str = ""
    speed: float | None = None  # None: the voice's own
    noise_scale: float | None = None
    noise_w: float | None = None
    ssml: bool = False  # text is an SSML document (the API decides from text_format or <speak)
    live: LiveSource | None = None


@dataclass(frozen=True)
class BroadcastSpec:
    """What CreateBroadcast asks for; the store keeps it unchanged."""

    segments: tuple[Segment, ...]
    group_ids: tuple[str, ...]
    priority: Priority = Priority.NORMAL
    start_time: float | None = None  # None: now
    repeat_count: int = 1  # airings in all; validation turns 0 into 1
    repeat_gap_s: float = 0.0
    chime: bool = False
    idempotency_key: str = ""
    title: str = ""
    requested_by: str = ""
    sentence_pause_s: float | None = None  # None: the synthesizer's default
    schedule_id: str = ""  # the schedule whose occurrence this is (jobs/scheduler.py); set by the server


LOCAL_SCOPE = "local"  # the idempotency scope of the caller when auth is off (it has no token id)


@dataclass(frozen=True)
class Caller:
    """Who created a broadcast, as the server authenticated it (never taken from the request)."""

    token_id: str  # "" when auth was off
    name: str
    role: str  # viewer, publisher, emergency or admin

    @property
    def scope(self) -> str:
        """Whose idempotency keys these are: the token id (unique; names are not)."""
        return self.token_id or LOCAL_SCOPE


@dataclass(frozen=True)
class Progress:
    repeat_index: int = 0  # 0-based airing
    segment_index: int = 0
    sentence_index: int = 0  # within the segment
    sentence_count: int = 0  # of the segment; 0 until known
    aired_s: float = 0.0  # audio played so far, over all airings
    total_s: float | None = None  # audio of all airings, once known
    mark: str = ""  # the last SSML <mark> reached in this segment
    live_s: float = 0.0  # of a live segment: seconds of it aired so far (a resume airs what is left)


@dataclass(frozen=True)
class Interruption:
    """A cut: by a higher priority (by_broadcast_id set) or by a server restart (empty)."""

    start_time: float
    reason: str
    at: Progress  # where it was cut; a resume restarts this sentence
    by_broadcast_id: str = ""
    by_priority: Priority | None = None
    end_time: float | None = None  # None while it lasts
    resume_mode: ResumeMode | None = None  # set when it ends


@dataclass(frozen=True)
class Broadcast:
    id: str
    spec: BroadcastSpec
    state: BroadcastState
    seq: int  # creation order, strictly increasing: the FIFO tie-break
    create_time: float
    start_time: float  # scheduled start: spec.start_time, or the create time
    update_time: float
    air_time: float | None = None  # when its first sample played
    end_time: float | None = None
    progress: Progress = field(default_factory=Progress)
    interruptions: tuple[Interruption, ...] = ()
    failure_reason: str = ""
    repeats_done: int = 0  # airings completed
    created_by: Caller | None = None  # None: stored before the server recorded callers (unknown)

    @property
    def priority(self) -> Priority:
        return self.spec.priority

    @property
    def group_ids(self) -> tuple[str, ...]:
        return self.spec.group_ids

    @property
    def live(self) -> bool:
        """Whether a segment is a live source (never delivered ahead, resumed at the present)."""
        return any(s.live is not None for s in self.spec.segments)

    @property
    def open_interruption(self) -> Interruption | None:
        """The interruption still lasting, if any (the last one without an end time)."""
        for cut in reversed(self.interruptions):
            if cut.end_time is None:
                return cut
        return None


@dataclass(frozen=True)
class Event:
    """One line of a broadcast's history; ``seq`` is increasing over the whole store."""

    seq: int
    broadcast_id: str
    type: EventType
    time: float
    state: BroadcastState
    progress: Progress
    message: str = ""
