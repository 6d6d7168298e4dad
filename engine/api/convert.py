"""loa.v1 messages ↔ the core's plain dataclasses. Pure functions; no validation beyond message shape.

Enum values outside the proto's range become ValueError naming the field (proto3 lets a client send any
number for an enum), so the servicers answer INVALID_ARGUMENT instead of storing nonsense.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import duration_pb2, timestamp_pb2

from engine.jobs.model import (
    LIVE_VOICE,
    Broadcast,
    BroadcastSpec,
    BroadcastState,
    Caller,
    Event,
    Group,
    Interruption,
    LiveSource,
    Priority,
    Progress,
    Segment,
)
from engine.tts.text.ssml import looks_like_ssml
from protos.loa.v1 import loa_pb2 as pb


def timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(round(seconds * 1e9))
    return ts


def duration(seconds: float | None) -> duration_pb2.Duration | None:
    if seconds is None:
        return None
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def seconds_of(message: timestamp_pb2.Timestamp | duration_pb2.Duration, field: str = "time") -> float:
    """Seconds of a Timestamp or Duration; ValueError naming ``field`` when it is outside the types' range
    (years 1..9999, ±10,000 years), which protobuf refuses to convert."""
    try:
        return float(message.ToNanoseconds()) / 1e9
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def priority_from_pb(value: int, field: str = "priority") -> Priority:
    if value == pb.PRIORITY_UNSPECIFIED:
        return Priority.NORMAL
    if value not in (pb.PRIORITY_NORMAL, pb.PRIORITY_HIGH, pb.PRIORITY_EMERGENCY):
        raise ValueError(f"{field}: unknown priority {value}")
    return Priority(value)  # the numbers are the same on both sides


def state_from_pb(value: int, field: str = "states") -> BroadcastState:
    if value == pb.BROADCAST_STATE_UNSPECIFIED or value not in pb.BroadcastState.values():
        raise ValueError(f"{field}: unknown state {value}")
    return BroadcastState(value)


# -- groups --------------------------------------------------------------------------------------------


def group_from_pb(message: pb.Group) -> Group:
    return Group(
        id=message.id,
        name=message.name,
        multicast_address=message.multicast_address,
        port=message.port,
        ttl=message.ttl,
        interface=message.interface,
        opus_bitrate_bps=message.opus_bitrate_bps,
        fec=message.fec,
        expected_loss_percent=message.expected_loss_percent,
        playout_delay_s=seconds_of(message.playout_delay, "group.playout_delay")
        if message.HasField("playout_delay")
        else 0.0,
        emergency=message.emergency,
    )


def group_to_pb(group: Group) -> pb.Group:
    return pb.Group(
        id=group.id,
        name=group.name,
        multicast_address=group.multicast_address,
        port=group.port,
        ttl=group.ttl,
        interface=group.interface,
        opus_bitrate_bps=group.opus_bitrate_bps,
        fec=group.fec,
        expected_loss_percent=group.expected_loss_percent,
        playout_delay=duration(group.playout_delay_s),
        emergency=group.emergency,
        create_time=timestamp(group.create_time),
        update_time=timestamp(group.update_time),
    )


# Proto field names (update masks) → Group dataclass fields.
GROUP_MASK_FIELDS = {
    "name": "name",
    "multicast_address": "multicast_address",
    "port": "port",
    "ttl": "ttl",
    "interface": "interface",
    "opus_bitrate_bps": "opus_bitrate_bps",
    "fec": "fec",
    "expected_loss_percent": "expected_loss_percent",
    "playout_delay": "playout_delay_s",
    "emergency": "emergency",
}


def group_mask(paths: Sequence[str]) -> list[str]:
    unknown = [p for p in paths if p not in GROUP_MASK_FIELDS]
    if unknown:
        raise ValueError(f"update_mask: unknown field {unknown[0]!r}")
    return [GROUP_MASK_FIELDS[p] for p in paths]


# -- broadcasts ----------------------------------------------------------------------------------------


def is_ssml(text: str, text_format: int, field: str = "text_format") -> bool:
    """Whether a text field is SSML: as ``text_format`` says, or when unset, as the text looks."""
    if text_format == pb.TEXT_FORMAT_UNSPECIFIED:
        return looks_like_ssml(text)
    if text_format not in (pb.TEXT_FORMAT_PLAIN, pb.TEXT_FORMAT_SSML):
        raise ValueError(f"{field}: unknown text format {text_format}")
    return text_format == pb.TEXT_FORMAT_SSML


def live_from_pb(message: pb.LiveSource, field: str = "live") -> LiveSource:
    """A relay as CreateBroadcast asks for it (``live_voice`` is output only: a voice comes through
    AirLiveVoice, never from a URL-less segment)."""
    if message.live_voice:
        raise ValueError(f"{field}.live_voice: output only; a live voice comes through AirLiveVoice")
    return LiveSource(
        url=message.url,
        backup_urls=tuple(message.backup_urls),
        duration_s=_optional_seconds(message, "duration", field),
        end_time=_optional_seconds(message, "end_time", field),
    )


def _optional_seconds(message: pb.LiveSource, name: str, field: str) -> float | None:
    return seconds_of(getattr(message, name), f"{field}.{name}") if message.HasField(name) else None


def live_to_pb(live: LiveSource) -> pb.LiveSource:
    return pb.LiveSource(
        url=live.url,
        backup_urls=list(live.backup_urls),
        duration=duration(live.duration_s),
        end_time=timestamp(live.end_time),
        live_voice=live.kind == LIVE_VOICE,
    )


def segment_from_pb(message: pb.Segment, field: str = "segment") -> Segment:
    voice = message.voice
    content = message.WhichOneof("content")
    return Segment(
        live=live_from_pb(message.live, f"{field}.live") if content == "live" else None,
        language=message.language,
        dialect=message.dialect,
        text=message.text if content == "text" else None,
        audio=message.audio if content == "audio" else None,
        voice_id=voice.voice_id,
        speaker=voice.speaker,
        speed=voice.speed if voice.HasField("speed") else None,
        noise_scale=voice.noise_scale if voice.HasField("noise_scale") else None,
        noise_w=voice.noise_w if voice.HasField("noise_w") else None,
        ssml=content == "text" and is_ssml(message.text, message.text_format, f"{field}.text_format"),
    )


def segment_to_pb(segment: Segment, with_audio: bool = False) -> pb.Segment:
    voice = pb.VoiceSettings(
        voice_id=segment.voice_id,
        speaker=segment.speaker,
        speed=segment.speed,
        noise_scale=segment.noise_scale,
        noise_w=segment.noise_w,
    )
    message = pb.Segment(language=segment.language, dialect=segment.dialect, voice=voice)
    if segment.text is not None:
        message.text = segment.text
        message.text_format = pb.TEXT_FORMAT_SSML if segment.ssml else pb.TEXT_FORMAT_PLAIN
    elif segment.audio is not None and with_audio:
        message.audio = segment.audio
    elif segment.live is not None:
        message.live.CopyFrom(live_to_pb(segment.live))
    return message


def spec_from_pb(request: pb.CreateBroadcastRequest, requested_by: str) -> BroadcastSpec:
    return BroadcastSpec(
        segments=tuple(segment_from_pb(s, f"segments[{i}]") for i, s in enumerate(request.segments)),
        group_ids=tuple(request.group_ids),
        priority=priority_from_pb(request.priority),
        start_time=seconds_of(request.start_time, "start_time") if request.HasField("start_time") else None,
        repeat_count=request.repeat_count,
        repeat_gap_s=seconds_of(request.repeat_gap, "repeat_gap") if request.HasField("repeat_gap") else 0.0,
        chime=request.chime,
        idempotency_key=request.idempotency_key,
        title=request.title,
        requested_by=requested_by,
        sentence_pause_s=seconds_of(request.sentence_pause, "sentence_pause")
        if request.HasField("sentence_pause")
        else None,
    )


def progress_to_pb(progress: Progress) -> pb.Progress:
    return pb.Progress(
        repeat_index=progress.repeat_index,
        segment_index=progress.segment_index,
        sentence_index=progress.sentence_index,
        sentence_count=progress.sentence_count,
        aired=duration(progress.aired_s),
        total=duration(progress.total_s),
        mark=progress.mark,
    )


def interruption_to_pb(cut: Interruption) -> pb.Interruption:
    return pb.Interruption(
        start_time=timestamp(cut.start_time),
        end_time=timestamp(cut.end_time),
        by_broadcast_id=cut.by_broadcast_id,
        by_priority=pb.Priority.Name(int(cut.by_priority or 0)),
        reason=cut.reason,
        resume_mode=pb.ResumeMode.Name(int(cut.resume_mode or 0)),
        at=progress_to_pb(cut.at),
    )


def broadcast_to_pb(b: Broadcast) -> pb.Broadcast:
    spec = b.spec
    return pb.Broadcast(
        id=b.id,
        title=spec.title,
        segments=[segment_to_pb(s) for s in spec.segments],
        group_ids=list(spec.group_ids),
        priority=pb.Priority.Name(int(spec.priority)),
        state=pb.BroadcastState.Name(int(b.state)),
        create_time=timestamp(b.create_time),
        start_time=timestamp(b.start_time),
        air_time=timestamp(b.air_time),
        end_time=timestamp(b.end_time),
        repeat_count=spec.repeat_count,
        repeat_gap=duration(spec.repeat_gap_s),
        chime=spec.chime,
        idempotency_key=spec.idempotency_key,
        requested_by=spec.requested_by,
        progress=progress_to_pb(b.progress),
        failure_reason=b.failure_reason,
        interruptions=[interruption_to_pb(c) for c in b.interruptions],
        sentence_pause=duration(spec.sentence_pause_s),
        created_by=caller_to_pb(b.created_by),
        schedule_id=spec.schedule_id,
    )


def caller_to_pb(caller: Caller | None) -> pb.Caller | None:
    if caller is None:
        return None
    return pb.Caller(token_id=caller.token_id, name=caller.name, role=caller.role)


def event_to_pb(event: Event) -> pb.BroadcastEvent:
    return pb.BroadcastEvent(
        broadcast_id=event.broadcast_id,
        type=pb.EventType.Name(int(event.type)),
        time=timestamp(event.time),
        state=pb.BroadcastState.Name(int(event.state)),
        progress=progress_to_pb(event.progress),
        message=event.message,
    )
