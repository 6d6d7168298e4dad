"""JSON forms of the job data, for the store's columns and the broadcast log.

Segment audio is left out of the JSON (``"audio": true`` marks where it was): the store keeps it as a
BLOB, and the log never carries it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from engine.jobs.model import (
    BroadcastSpec,
    Interruption,
    LiveSource,
    Priority,
    Progress,
    ResumeMode,
    Segment,
)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def progress_to_dict(progress: Progress) -> dict[str, Any]:
    return dataclasses.asdict(progress)


def progress_from_dict(data: dict[str, Any]) -> Progress:
    return Progress(**data)


def interruption_to_dict(cut: Interruption) -> dict[str, Any]:
    return {
        "start_time": cut.start_time,
        "end_time": cut.end_time,
        "by_broadcast_id": cut.by_broadcast_id,
        "by_priority": cut.by_priority.name if cut.by_priority is not None else None,
        "reason": cut.reason,
        "resume_mode": cut.resume_mode.name if cut.resume_mode is not None else None,
        "at": progress_to_dict(cut.at),
    }


def interruption_from_dict(data: dict[str, Any]) -> Interruption:
    return Interruption(
        start_time=data["start_time"],
        end_time=data["end_time"],
        by_broadcast_id=data["by_broadcast_id"],
        by_priority=Priority[data["by_priority"]] if data["by_priority"] else None,
        reason=data["reason"],
        resume_mode=ResumeMode[data["resume_mode"]] if data["resume_mode"] else None,
        at=progress_from_dict(data["at"]),
    )


def spec_to_dict(spec: BroadcastSpec) -> dict[str, Any]:
    out = dataclasses.asdict(spec)
    out["priority"] = spec.priority.name
    out["segments"] = [{**dataclasses.asdict(s), "audio": s.audio is not None} for s in spec.segments]
    out["group_ids"] = list(spec.group_ids)
    return out


def live_from_dict(data: dict[str, Any] | None) -> LiveSource | None:
    """A segment's live source (None: not live, also in rows stored before live segments existed)."""
    if data is None:
        return None
    return LiveSource(**{**data, "backup_urls": tuple(data["backup_urls"])})


def spec_from_dict(data: dict[str, Any], audio: dict[int, bytes]) -> BroadcastSpec:
    segments = tuple(
        Segment(**{**s, "audio": audio.get(i) if s["audio"] else None, "live": live_from_dict(s.get("live"))})
        for i, s in enumerate(data["segments"])
    )
    return BroadcastSpec(
        **{
            **data,
            "segments": segments,
            "group_ids": tuple(data["group_ids"]),
            "priority": Priority[data["priority"]],
        }
    )


def spec_digest(spec: BroadcastSpec) -> str:
    """Identifies a request's content (audio included, by hash): equal digests mean a retry."""
    data = spec_to_dict(spec)
    for seg, item in zip(spec.segments, data["segments"], strict=True):
        if seg.audio is not None:
            item["audio"] = hashlib.sha256(seg.audio).hexdigest()
    return hashlib.sha256(dumps(data).encode()).hexdigest()
