"""A broadcast's lifecycle in the server's log: one line per event the store records, logged right after
the transaction that recorded it (broadcast_store.py), so each transition is logged once and only if it
happened. Progress and synthesis steps are DEBUG; the rest INFO, a failure ERROR (docs/LOGGING.md).
"""

from __future__ import annotations

import logging

from engine.jobs.model import Broadcast, EventType
from streaming.logsetup import event

log = logging.getLogger("engine.jobs.events")

LEVELS = {
    EventType.SYNTHESIZING: logging.DEBUG,
    EventType.PROGRESS: logging.DEBUG,
    EventType.FAILED: logging.ERROR,
}


def _word(kind: EventType, requeued: bool) -> str:
    """The event in words: "accepted", "on air", ... ("queued again" after a restart)."""
    if kind == EventType.QUEUED:
        return "queued again" if requeued else "accepted"
    return kind.name.lower().replace("_", " ")


def broadcast_event(broadcast: Broadcast, kind: EventType, message: str, requeued: bool = False) -> None:
    """Logs ``kind`` of ``broadcast`` (its state after the event). ``requeued``: a restart queued it again."""
    level = LEVELS.get(kind, logging.INFO)
    if not log.isEnabledFor(level):
        return  # a progress line per sentence, built for nothing at the default level
    requeued = requeued and kind == EventType.QUEUED
    word = _word(kind, requeued)
    name = "broadcast.requeued" if requeued else f"broadcast.{word.replace(' ', '_')}"
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
