"""The broadcast log (nhật ký phát) as CSV or JSON, for the provincial source information system.

One entry per broadcast whose life (created .. ended) overlaps [since, until): what was read (title,
languages, text), where (groups), when (created, scheduled, first sample, end), how long (audio aired
and wall time), who asked (requested_by: the caller's free text, unverified; created_by: the token the
server authenticated, its name, role and id, "unknown" for broadcasts stored before it recorded them), at
what priority, how it ended, and every interruption with how it resumed. A live segment's source (its URL,
or "live voice") is its text; each gap its source left is an interruption (resume mode LIVE, the reason
giving its cause and length) and counts in ``gap_count``/``gap_seconds``; aired_seconds is how long it
aired.
Every time is as the speakers heard it (tests/api/test_log_times.py checks them against a speaker's
recording): air_time is the first sample ever played (a resume never moves it), end_time the last (for a
cancel too: speakers play out what was sent, up to one playout delay after it), aired_seconds the audio
they played (a cut sentence's replayed part counted again), and an interruption runs from the last sample
heard before it to the first of the resume; a restart's starts where the dead server's speakers went
silent (engine/jobs/heard.py). wall_seconds is end_time - air_time.
Times are ISO 8601 with milliseconds and their offset, in the server's zone (config time_zone, named in
the JSON's "time_zone" and the CSV's time_zone column): 2026-12-06T07:00:00.000+07:00; durations are
seconds. A schedule's occurrence names its schedule (schedule_id). The JSON form also carries each
broadcast's state changes (its events without the per-sentence progress ones).
"""

from __future__ import annotations

import contextvars
import json
from typing import Any
from zoneinfo import ZoneInfo

from engine.csvfile import csv_text
from engine.jobs.model import (
    LIVE_VOICE,
    Broadcast,
    BroadcastState,
    EventType,
    Interruption,
    LiveSource,
    ResumeMode,
)
from engine.jobs.store import Store
from engine.timefmt import format_iso

_UTC = ZoneInfo("UTC")

FORMATS = ("csv", "json")
UNKNOWN = "unknown"  # created_by of a broadcast stored before the server recorded callers
CSV_COLUMNS = (
    "broadcast_id", "title", "requested_by", "created_by", "created_by_role", "created_by_token", "priority",
    "state", "groups", "languages", "create_time",
    "start_time", "air_time", "end_time", "aired_seconds", "wall_seconds", "airings_done", "airings_asked",
    "interruption_count", "interruptions", "end_reason", "text", "gap_count", "gap_seconds", "schedule_id",
    "time_zone",
)  # fmt: skip


# the zone of the export under way (export_log sets it for its thread); UTC for a caller of iso alone
_ZONE: contextvars.ContextVar[ZoneInfo | None] = contextvars.ContextVar("loa_log_zone", default=None)


def iso(t: float | None) -> str:
    """In the export's zone with its offset; in UTC written with Z, as logs always were."""
    tz = _ZONE.get()
    return format_iso(t, tz) if tz is not None else format_iso(t, _UTC).replace("+00:00", "Z")


def _interruption(cut: Interruption) -> dict[str, Any]:
    return {
        "start_time": iso(cut.start_time),
        "end_time": iso(cut.end_time),
        "by_broadcast_id": cut.by_broadcast_id,
        "by_priority": cut.by_priority.name if cut.by_priority else "",
        "reason": cut.reason,
        "resume_mode": cut.resume_mode.name if cut.resume_mode else "",
        "at_airing": cut.at.repeat_index + 1,
        "at_segment": cut.at.segment_index + 1,
        "at_sentence": cut.at.sentence_index + 1,
    }


def _is_gap(cut: Interruption) -> bool:
    """A stretch a live source left unfilled (live_segment.py), not a cut by a broadcast or a restart."""
    return cut.resume_mode == ResumeMode.LIVE and not cut.by_broadcast_id and cut.end_time is not None


def _live(live: LiveSource | None) -> dict[str, Any] | None:
    if live is None:
        return None
    return {
        "source": "live voice" if live.kind == LIVE_VOICE else live.url,
        "backup_urls": list(live.backup_urls),
        "duration_seconds": live.duration_s,
        "end_time": iso(live.end_time),
    }


def _describe(cut: dict[str, Any]) -> str:
    """One interruption in a CSV cell."""
    who = (
        f"{cut['by_priority'].lower()} {cut['by_broadcast_id']}" if cut["by_broadcast_id"] else cut["reason"]
    )
    how = cut["resume_mode"].lower() or "not ended"
    return (
        f"{cut['start_time']}..{cut['end_time']} by {who} at segment {cut['at_segment']} "
        f"sentence {cut['at_sentence']}: {how}"
    )


def _entry(store: Store, b: Broadcast) -> dict[str, Any]:
    events = store.events(b.id)
    end_reason = b.failure_reason
    if b.state == BroadcastState.CANCELLED:
        end_reason = next((e.message for e in reversed(events) if e.type == EventType.CANCELLED), "")
    elif b.state == BroadcastState.FINISHED:  # a live source that ended on its own says why
        end_reason = next(
            (e.message for e in reversed(events) if e.message.startswith("live source ended")), ""
        )
    gaps = [c for c in b.interruptions if _is_gap(c)]
    return {
        "broadcast_id": b.id,
        "title": b.spec.title,
        "requested_by": b.spec.requested_by,
        "created_by": b.created_by.name if b.created_by else UNKNOWN,
        "created_by_role": b.created_by.role if b.created_by else UNKNOWN,
        "created_by_token": b.created_by.token_id if b.created_by else UNKNOWN,
        "priority": b.priority.name,
        "state": b.state.name,
        "schedule_id": b.spec.schedule_id,
        "groups": list(b.group_ids),
        "languages": [s.language for s in b.spec.segments],
        "create_time": iso(b.create_time),
        "start_time": iso(b.start_time),
        "air_time": iso(b.air_time),
        "end_time": iso(b.end_time),
        "aired_seconds": round(b.progress.aired_s, 3),
        "wall_seconds": round(b.end_time - b.air_time, 3) if b.air_time and b.end_time else None,
        "airings_done": b.repeats_done,
        "airings_asked": b.spec.repeat_count,
        "interruptions": [_interruption(c) for c in b.interruptions],
        "gap_count": len(gaps),
        "gap_seconds": round(sum((c.end_time or c.start_time) - c.start_time for c in gaps), 3),
        "end_reason": end_reason,
        "segments": [
            {
                "language": s.language,
                "voice_id": s.voice_id,
                "text": s.text,
                "audio_bytes": len(s.audio) if s.audio is not None else None,
                "live": _live(s.live),
            }
            for s in b.spec.segments
        ],
        "events": [
            {"time": iso(e.time), "type": e.type.name, "state": e.state.name, "message": e.message}
            for e in events
            if e.type != EventType.PROGRESS
        ],
    }


def _csv_row(entry: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in entry.items() if k in CSV_COLUMNS}
    row["time_zone"] = (_ZONE.get() or _UTC).key
    row["groups"] = ";".join(entry["groups"])
    row["languages"] = ";".join(entry["languages"])
    row["interruption_count"] = len(entry["interruptions"])
    row["interruptions"] = "; ".join(_describe(c) for c in entry["interruptions"])
    row["wall_seconds"] = "" if entry["wall_seconds"] is None else entry["wall_seconds"]
    texts = [
        s["text"]
        if s["text"] is not None
        else f"[live {s['live']['source']}]"
        if s["live"] is not None
        else f"[audio {s['audio_bytes']} bytes]"
        for s in entry["segments"]
    ]
    row["text"] = " | ".join(texts)
    return row


def export_log(
    store: Store, since: float, until: float | None = None, fmt: str = "csv", tz: ZoneInfo | None = None
) -> str:
    """The log of broadcasts alive in [since, until) (until None: up to now), oldest first; times in
    ``tz`` (the server's zone; None: UTC)."""
    token = _ZONE.set(None if tz is None or tz.key in ("UTC", "Etc/UTC") else tz)
    try:
        return _export(store, since, until, fmt)
    finally:
        _ZONE.reset(token)


def _export(store: Store, since: float, until: float | None, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if until is not None and until <= since:
        raise ValueError(f"until: {iso(until)} is not after since {iso(since)}")
    entries = [_entry(store, b) for b in store.broadcasts_between(since, until)]
    if fmt == "json":
        zone_name = (_ZONE.get() or _UTC).key
        doc = {"time_zone": zone_name, "since": iso(since), "until": iso(until), "broadcasts": entries}
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    return csv_text(CSV_COLUMNS, (_csv_row(e) for e in entries))  # BOM first: Excel reads it as UTF-8
