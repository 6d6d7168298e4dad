"""Which broadcasts air now: a pure function of the time and the unfinished broadcasts.

The runner calls :func:`plan` whenever something changes (a broadcast created, finished, cancelled) and
when :attr:`Plan.next_wakeup` comes, applies the preemptions first and then the starts and resumes. No
I/O and no clock here, so every rule is tested with plain data.

Rules
- A broadcast SYNTHESIZING or ON_AIR holds its groups. One that airs on the emergency group holds every
  group: every speaker joins that group, so it is heard everywhere.
- Candidates are QUEUED broadcasts whose start time has come (``start_time - lead_s <= now``) and
  PREEMPTED ones. They are taken highest priority first, then by start time, then by creation order
  (FIFO within a priority).
- A candidate starts (or resumes) when no group it needs is held by an equal-or-higher priority. Lower
  priorities holding its groups are preempted, all of them, and only if the candidate can then start:
  a candidate still blocked elsewhere preempts nothing.
- A candidate that must wait reserves its groups: a later candidate (same or lower priority) that needs
  one of them waits too, so a long bulletin to many groups is not starved by short ones to a few, and
  a lower priority is not started only to be preempted a moment later.
- An EMERGENCY broadcast to every group (or that names the emergency group) airs once, on the
  emergency group, when one is configured: every speaker joins it and resolves priority, so a
  commune-wide alert is one multicast stream. One to some of the groups airs on those groups only (one
  encoding, sent to each), so hamlets it was not meant for do not hear it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.jobs.model import AIRING_STATES, Broadcast, BroadcastState, Priority

ALL_GROUPS: frozenset[str] = frozenset({"*"})  # the cover of an airing on the emergency group


@dataclass(frozen=True)
class Airing:
    """A broadcast to start or resume, and where its stream goes."""

    broadcast_id: str
    group_ids: tuple[str, ...]
    air_at: float  # when its first sample should play: its start time, or now if that has passed
    resuming: bool  # it was cut before (preempted or a restart): continue from its progress


@dataclass(frozen=True)
class Preemption:
    broadcast_id: str
    by_broadcast_id: str
    by_priority: Priority


@dataclass(frozen=True)
class Plan:
    preempt: tuple[Preemption, ...] = ()  # apply first
    start: tuple[Airing, ...] = ()  # QUEUED broadcasts to start
    resume: tuple[Airing, ...] = ()  # PREEMPTED broadcasts to resume
    next_wakeup: float | None = None  # the earliest future start (minus lead_s); plan again then


def airing_groups(
    broadcast: Broadcast, emergency_group_id: str | None, all_group_ids: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """Where a broadcast's one stream is sent. ``all_group_ids``: every group there is."""
    if not emergency_group_id or broadcast.priority != Priority.EMERGENCY:
        return broadcast.group_ids
    targets = set(broadcast.group_ids)
    everyone = all_group_ids - {emergency_group_id}
    if emergency_group_id in targets or (len(targets) > 1 and everyone and everyone <= targets):
        return (emergency_group_id,)
    return broadcast.group_ids


def _cover(groups: Iterable[str], emergency_group_id: str | None) -> frozenset[str]:
    groups = frozenset(groups)
    return ALL_GROUPS if emergency_group_id and emergency_group_id in groups else groups


def _overlap(a: frozenset[str], b: frozenset[str]) -> bool:
    return a is ALL_GROUPS or b is ALL_GROUPS or not a.isdisjoint(b)


def plan(
    now: float,
    broadcasts: Sequence[Broadcast],
    *,
    emergency_group_id: str | None = None,
    all_group_ids: frozenset[str] = frozenset(),
    lead_s: float = 0.0,
) -> Plan:
    """Decides preemptions, starts and resumes at time ``now``.

    ``broadcasts``: the unfinished ones (Store.active_broadcasts); terminal ones are ignored.
    ``all_group_ids``: every group there is (an emergency to all of them airs on the emergency group).
    ``lead_s``: how long before its start time a broadcast may start synthesizing, so that its first
    sample can play exactly at ``air_at``.
    """
    holding: dict[str, tuple[Priority, frozenset[str]]] = {}
    candidates: list[Broadcast] = []
    next_wakeup: float | None = None
    for b in broadcasts:
        if b.state in AIRING_STATES:
            holding[b.id] = (
                b.priority,
                _cover(airing_groups(b, emergency_group_id, all_group_ids), emergency_group_id),
            )
        elif b.state == BroadcastState.PREEMPTED or (
            b.state == BroadcastState.QUEUED and b.start_time - lead_s <= now
        ):
            candidates.append(b)
        elif b.state == BroadcastState.QUEUED:
            wake = b.start_time - lead_s
            next_wakeup = wake if next_wakeup is None else min(next_wakeup, wake)
    candidates.sort(key=lambda b: (-b.priority, b.start_time, b.seq))

    reserved: list[frozenset[str]] = []
    preempt: list[Preemption] = []
    start: list[Airing] = []
    resume: list[Airing] = []
    for b in candidates:
        groups = airing_groups(b, emergency_group_id, all_group_ids)
        cover = _cover(groups, emergency_group_id)
        blockers = [bid for bid, (_, held) in holding.items() if _overlap(cover, held)]
        if any(_overlap(cover, r) for r in reserved) or any(holding[x][0] >= b.priority for x in blockers):
            reserved.append(cover)
            continue
        for bid in blockers:
            preempt.append(Preemption(bid, b.id, b.priority))
            del holding[bid]
        holding[b.id] = (b.priority, cover)
        airing = Airing(b.id, groups, max(now, b.start_time), b.open_interruption is not None)
        (resume if b.state == BroadcastState.PREEMPTED else start).append(airing)
    return Plan(tuple(preempt), tuple(start), tuple(resume), next_wakeup)
