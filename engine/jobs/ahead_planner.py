"""Bulletins delivered ahead inside the server: which broadcasts go ahead, their synthesis in the background,
the hand-over to the airing, and keeping the clusters' copies true (docs/BROKER.md, "Delivered ahead").

The Runner calls :meth:`AheadPlanner.plan` on every planning pass with the unfinished broadcasts. A
broadcast goes ahead when it is QUEUED and untouched (never aired, never cut), scheduled more than
``lead_s`` away, not an EMERGENCY, and one of its groups has clusters on the broker. Its first airing is
synthesized on this module's one thread, behind every live request (``Synthesizer.stream(background=
True)``), exactly as the airing would (segment_audio.py), then encoded, stored (ahead.py: frames, the
fixed stream, the progress marks) and published retained to each of its groups.

At air time the airing takes it (:meth:`take`) and feeds the stored frames under the stored SSRC, first
sequence number, RTP time and start, so the multicast, broker and cache copies are the same bytes; it
reports progress from the stored marks. When that airing ends, however it ends (finished, cancelled,
preempted, the server stopping), it releases the item: every group's copy is cleared (empty retained)
and the frames are deleted, so the SSRC is never used again. Resumed parts and repeats go live under
fresh SSRCs. An item the airing cannot use (its groups' delay changed, or it started late) is cleared
and the airing goes live; so are items whose broadcast was cancelled, ended or cut before airing.

Keys: a rendering seals each datagram with the key the group will have at its send time. When a group's
keys change before the start (a new key made ahead, a rotation), the item is rendered again and
republished (checked every pass, at most a second apart): the same plaintext under the same SSRC and
index, sealed with another key, so no nonce is ever used twice under one key. A change in the last
second leaves the cached copy under the old key; a cluster that has that key plays it.

Restart: the items are in SQLite (ahead.py); the first pass republishes those whose broadcast is still
untouched (Mosquitto's retained copy may be gone) and clears the others. Clears the broker could not take
are kept in the store and sent again every pass.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.jobs.ahead import AheadDelivery, Prepared, eligible
from engine.jobs.model import Broadcast, BroadcastState
from engine.jobs.progress import Mark, Timeline
from engine.jobs.segment_audio import segment_audio
from engine.jobs.store import Store
from engine.tts.synthesizer import Synthesizer

log = logging.getLogger(__name__)

MIN_LEAD_S = 0.2  # a prepared stream that would start sooner than this is not used: it goes live

KeyPrint = tuple[tuple[str, tuple[tuple[int, bytes, bytes, float, float | None], ...] | None], ...]


@dataclass
class _Item:
    """A prepared bulletin the planner keeps true until its airing takes it."""

    group_ids: tuple[str, ...]
    keys: KeyPrint | None = None  # the groups' keys the published rendering used (None: not yet)
    published: bool = False  # every group's item was taken by the broker client


def _covers(keys: KeyPrint, at: float) -> bool:
    """Does every keyed group have a key valid at ``at`` (a stream rendered for then can be sealed)?"""
    return all(
        ring is None or any(nb <= at and (na is None or at < na) for _, _, _, nb, na in ring)
        for _, ring in keys
    )


def untouched(b: Broadcast) -> bool:
    """Queued and never aired or cut: its first airing is still the whole bulletin. Never one with a
    live segment: a live source cannot be rendered before it happens."""
    return b.state == BroadcastState.QUEUED and b.air_time is None and not b.interruptions and not b.live


class AheadPlanner:
    def __init__(
        self,
        store: Store,
        synth: Synthesizer,
        delivery: AheadDelivery,
        *,
        lead_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.synth = synth
        self.delivery = delivery
        self.lead_s = lead_s
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, _Item] = {}
        self._closed: set[str] = set()  # taken or released: never prepared or published again
        self._busy: set[str] = set()  # a job for it is queued or running
        self._failed: set[str] = set()  # could not be prepared: goes live
        # no SRTP key covers its air time yet (keys are made srtp_key_ahead_s before they start): tried
        # again when the groups' keys change, not on every pass (each try would synthesize it again)
        self._keyless: dict[str, KeyPrint] = {}
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name="loa-ahead", daemon=True)
        self.prepared = 0  # counters, for tests and logs
        self.republished = 0
        self.cleared = 0

    def start(self) -> AheadPlanner:
        """Takes the prepared items a previous run left (the first pass republishes or clears them)."""
        for p in self.delivery.store.all():
            self._items[p.broadcast_id] = _Item(p.group_ids)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._jobs.put(None)
        self._thread.join(10)

    # -- the runner's pass ----------------------------------------------------------------------------

    def plan(self, active: Sequence[Broadcast]) -> None:
        """Clears what can no longer air from its prepared stream, republishes what changed, and queues
        the broadcasts that now go ahead. Quick: synthesis and rendering run on this planner's thread."""
        try:
            self._plan(active)
        except Exception:  # delivered ahead is an optimisation: live airing must never depend on it
            log.exception("ahead: planning failed")

    def _plan(self, active: Sequence[Broadcast]) -> None:
        now = self._clock()
        by_id = {b.id: b for b in active}
        with self._lock:
            for bid, item in list(self._items.items()):
                b = by_id.get(bid)
                if b is None or b.state == BroadcastState.PREEMPTED or b.interruptions:
                    self._clear(bid)  # cancelled, ended, or cut (then it resumes live)
                elif (
                    untouched(b)
                    and bid not in self._busy
                    and (not item.published or self._keys(item.group_ids) != item.keys)
                ):
                    self._queue("publish", bid)  # a restart, a broker outage, or new keys
            candidates = [
                b for b in active
                if untouched(b) and eligible(b.priority, b.spec.start_time, now, self.lead_s)
                and b.id not in self._items and b.id not in self._busy and b.id not in self._closed
                and b.id not in self._failed
                and (b.id not in self._keyless or self._keyless[b.id] != self._keys(b.group_ids))
            ]  # fmt: skip
            if candidates:
                served = {g for c in self.store.list_clusters(revoked=False) for g in c.groups}
                for b in candidates:
                    if served.intersection(b.group_ids):
                        self._queue("prepare", b.id)
            # forget what no longer matters (bounded by the unfinished broadcasts)
            self._closed.intersection_update(by_id)
            self._failed.intersection_update(by_id)
            for bid in set(self._keyless) - set(by_id):
                del self._keyless[bid]
        self.delivery.send_clears()

    def _queue(self, kind: str, bid: str) -> None:
        self._busy.add(bid)
        self._jobs.put((kind, bid))

    # -- the airing's side (PreparedAirings) ----------------------------------------------------------

    def take(self, broadcast_id: str, group_ids: tuple[str, ...], start_time: float) -> Prepared | None:
        with self._lock:
            self._closed.add(broadcast_id)
            if broadcast_id not in self._items:
                return None
            prepared = self.delivery.store.get(broadcast_id)
            fits = (
                prepared is not None
                and prepared.group_ids == group_ids
                and abs(prepared.plan.start_time - start_time) < 1e-6
                and prepared.plan.start_time > self._clock() + MIN_LEAD_S
            )
            if not fits:
                had = (
                    "gone"
                    if prepared is None
                    else f"{prepared.group_ids}, start {prepared.plan.start_time:.3f}"
                )
                log.info(
                    "ahead: %s no longer fits its airing (prepared: %s; airing: %s, start %.3f, now %.3f): "
                    "it airs live, its copies are cleared",
                    broadcast_id, had, group_ids, start_time, self._clock(),
                )  # fmt: skip
                self._clear(broadcast_id)
                return None
            return prepared

    def release(self, broadcast_id: str) -> None:
        with self._lock:
            self._closed.add(broadcast_id)
            if broadcast_id in self._items:
                self._clear(broadcast_id)

    def _clear(self, bid: str) -> None:
        item = self._items.pop(bid)
        self.delivery.clear(bid, item.group_ids)
        self.cleared += 1

    # -- the planner's thread -------------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            kind, bid = job
            try:
                if kind == "prepare":
                    self._prepare(bid)
                else:
                    self._republish(bid)
            except Exception:
                log.exception("ahead: %s of %s failed; it will air live", kind, bid)
                with self._lock:
                    self._failed.add(bid)
                    if bid in self._items:
                        self._clear(bid)
            finally:
                with self._lock:
                    self._busy.discard(bid)

    def _prepare(self, bid: str) -> None:
        b = self.store.get_broadcast(bid)  # with its segments' audio
        groups = [self.store.get_group(g) for g in b.group_ids]
        air_at = b.start_time
        keys = self._keys(b.group_ids)
        if not _covers(keys, air_at):
            log.info(
                "ahead: %s: no SRTP key of its groups covers its start yet; tried again with new keys", bid
            )
            with self._lock:
                self._keyless[bid] = keys
            return
        pcm, marks = self._synthesize(b)
        if self._stopping.is_set():
            return
        prepared = self.delivery.encode(bid, b.priority, groups, air_at, pcm, marks)
        items = self.delivery.items(prepared, groups)
        with self._lock:
            now = self._clock()
            if (
                bid in self._closed
                or not untouched(self.store.get_broadcast(bid))
                or prepared.plan.start_time < now + MIN_LEAD_S
            ):
                log.info("ahead: %s was prepared too late or no longer waits: it airs live", bid)
                self._failed.add(bid)
                return
            self.delivery.store.put(prepared)
            sent = self.delivery.send(items)
            self._items[bid] = _Item(prepared.group_ids, keys, sent == len(items))
            self.prepared += 1
        log.info(
            "ahead: %s prepared (%.1f s, %d groups), starts in %.1f s",
            bid, len(prepared.frames) * 0.02, len(groups), prepared.plan.start_time - now,
        )  # fmt: skip

    def _republish(self, bid: str) -> None:
        prepared = self.delivery.store.get(bid)
        if prepared is None:
            return
        groups = [self.store.get_group(g) for g in prepared.group_ids]
        keys = self._keys(prepared.group_ids)  # before rendering: a change while it renders is seen next
        items = self.delivery.items(prepared, groups)
        with self._lock:
            item = self._items.get(bid)
            if item is None or bid in self._closed:
                return
            sent = self.delivery.send(items)
            item.keys, item.published = keys, sent == len(items)
            self.republished += 1

    def _synthesize(self, b: Broadcast) -> tuple[np.ndarray, tuple[Mark, ...]]:
        """The first airing's audio, as the airing would feed it, with its progress marks."""
        timeline = Timeline()
        parts: list[np.ndarray] = []
        fed = 0
        spec = b.spec
        for seg_index in range(len(spec.segments)):
            chime = spec.chime and seg_index == 0
            pieces = segment_audio(
                self.store, self.synth, b, 0, seg_index, 0, chime, self._stopping, background=True
            )
            for progress, pcm in pieces:
                timeline.mark(fed, progress)
                parts.append(pcm)
                fed += len(pcm)
        if not parts:
            raise ValueError("the bulletin has no audio")
        return np.concatenate(parts).astype(np.float32), tuple(timeline.marks)

    def _keys(self, group_ids: Sequence[str]) -> KeyPrint:
        """What the groups' keys are now, to see a change (a new key, a rotation, an expiry)."""
        out = []
        for gid in group_ids:
            source = self.delivery.key_source(gid)
            ring = None if source is None else source()
            prints = (
                None
                if ring is None
                else tuple((k.mki, k.key, k.salt, k.not_before, k.not_after) for k in ring)
            )
            out.append((gid, prints))
        return tuple(out)
