"""A broadcast's lifecycle in the server's log: one line per event the store records, logged right after
the transaction that recorded it (broadcast_store.py), so each transition is logged once and only if it
happened. Progress and synthesis steps are DEBUG; the rest INFO, a failure ERROR (docs/LOGGING.md).
"""

from __future__ import annotations

import logging

from engine.jobs.model import Broadcast, EventType
from streaming.logsetup import event

log = logging.getLogger("engine.jobs.events")

NAMES = {
    EventType.QUEUED: "broadcast.accepted",
    EventType.SYNTHESIZING: "broadcast.synthesizing",
    EventType.ON_AIR: "broadcast.on_air",
    EventType.PROGRESS: "broadcast.progress",
    EventType.PREEMPTED: "broadcast.preempted",
    EventType.RESUMED: "broadcast.resumed",
    EventType.FINISHED: "broadcast.finished",
    EventType.CANCELLED: "broadcast.cancelled",
    EventType.FAILED: "broadcast.failed",
}
LEVELS = {
    EventType.SYNTHESIZING: logging.DEBUG,
    EventType.PROGRESS: logging.DEBUG,
    EventType.FAILED: logging.ERROR,
}
_WORDS = {
    EventType.QUEUED: "accepted",
    EventType.SYNTHESIZING: "synthesizing",
    EventType.ON_AIR: "on air",
    EventType.PROGRESS: "progress",
    EventType.PREEMPTED: "preempted",
    EventType.RESUMED: "resumed",
    EventType.FINISHED: "finished",
    EventType.CANCELLED: "cancelled",
    EventType.FAILED: "failed",
}


def broadcast_event(broadcast: Broadcast, kind: EventType, message: str, requeued: bool = False) -> None:
    """Logs ``kind`` of ``broadcast`` (its state after the event). ``requeued``: a restart queued it again."""
    requeued = requeued and kind == EventType.QUEUED
    level = LEVELS.get(kind, logging.INFO)
    name = "broadcast.requeued" if requeued else NAMES[kind]
    word = "queued again" if requeued else _WORDS[kind]
    p = broadcast.progress
    fields = {
        "broadcast_id": broadcast.id,
        "state": broadcast.state.name.lower(),
        "priority": broadcast.spec.priority.label,
        "groups": list(broadcast.spec.group_ids),
        "segment": p.segment_index + 1,
        "sentence": p.sentence_index + 1,
        "airing": p.repeat_index + 1,
    }
    if kind == EventType.QUEUED and not requeued:
        fields["start_time"] = broadcast.start_time
    if kind == EventType.FAILED:
        fields["reason"] = broadcast.failure_reason
    groups = ",".join(broadcast.spec.group_ids)
    text = f"broadcast {broadcast.id} {word} ({broadcast.spec.priority.label}, groups {groups})"
    if message:
        text += f": {message}"
    event(log, level, name, text, detail=message, **fields)
