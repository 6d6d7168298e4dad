"""Airs broadcasts: applies the scheduling policy, synthesizes, streams, and records how far each got.

One planner thread wakes when something changes (a broadcast created or cancelled, an airing ended) or
at the next scheduled start, asks :func:`engine.jobs.policy.plan` what to do, and applies it: preempted
airings stop at once, new ones each get a thread. An airing thread synthesizes its segments piece by
piece and feeds the paced sender as soon as each piece is ready, so the first packet does not wait for
the whole bulletin, and it writes progress (the sentence now playing) to the store as playout reaches it.
The store is the only shared state: a crash leaves it saying where each broadcast was cut.

Timing: a broadcast's first sample plays at its start time. The sender's media time runs one playout
delay ahead of what speakers play, so a scheduled stream starts at ``air_at - playout_delay`` and
synthesis starts ``LEAD_S`` before that; an immediate broadcast starts as soon as its first piece is
ready.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from engine.jobs import policy
from engine.jobs.ahead_planner import AheadPlanner
from engine.jobs.airing import KeySource, OnAir, Studio
from engine.jobs.errors import InvalidTransition
from engine.jobs.heard import INTERVAL_S as HEARD_INTERVAL_S
from engine.jobs.live_segment import FeedFactory
from engine.jobs.model import AIRING_STATES, Broadcast, BroadcastState, EventType, ResumeMode
from engine.jobs.scheduler import Scheduler
from engine.jobs.store import Store
from engine.metrics import ServerMetrics
from engine.tts.synthesizer import Synthesizer
from streaming.ahead import Plan
from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination, Stream
from streaming.priority import Priority

log = logging.getLogger(__name__)

LEAD_S = 2.0  # synthesis of a scheduled broadcast starts this long before its stream must start
_IDLE_WAKE_S = 1.0  # plan at least this often, whatever happens


class Runner:
    def __init__(
        self,
        store: Store,
        synth: Synthesizer,
        sender: PacedSender,
        metrics: ServerMetrics | None = None,
        cname: str = "loa-server",
        key_source: KeySource = lambda group_id: None,
        ahead: AheadPlanner | None = None,
        live_feed: FeedFactory | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        """``key_source``: group id → what its stream Destination polls for the group's SRTP keys (None:
        plain RTP), the server's KeyStore.key_source. ``ahead``: bulletins delivered ahead to broker
        clusters (ahead_planner.py), told of every planning pass. ``live_feed``: opens the source of a
        live segment (live_segment.py); None: live segments fail."""
        self.store = store
        self.sender = sender
        self.metrics = metrics
        self.cname = cname
        self.ahead = ahead
        self.scheduler = scheduler  # schedules' occurrences are made into broadcasts first on each pass
        self._studio = Studio(
            store, synth, self._open_stream, key_source, metrics, self.airing_ended, ahead, live_feed
        )
        self._airings: dict[str, OnAir] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loa-runner", daemon=True)
        self._marker = threading.Thread(target=self._mark_heard, name="loa-heard-marks", daemon=True)
        self._marks_stop = threading.Event()  # after the airings: a kill during their grace still finds marks

    def start(self) -> Runner:
        self._thread.start()
        self._marker.start()
        return self

    def wake(self) -> None:
        """Plan again now (after a create, cancel or group change)."""
        self._wake.set()

    def stop(self, grace_s: float = 5.0) -> None:
        """Stops planning; airings get ``grace_s`` to finish, then are cut with their progress saved.

        A cut airing stays ON_AIR in the store, so the next start records the interruption and resumes it
        from the sentence it was in.
        """
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        deadline = time.monotonic() + grace_s
        for airing in self.airings():
            airing.join(max(0.0, deadline - time.monotonic()))
        for airing in self.airings():
            airing.stop("server shutting down")
            airing.join(5.0)
        self._marks_stop.set()

    def _open_stream(
        self,
        destinations: list[Destination],
        codec: OpusSettings,
        priority: Priority,
        start_time: float | None,
        group_ids: tuple[str, ...],
        label: str = "",
        plan: Plan | None = None,
    ) -> Stream:
        exact = {} if plan is None else {"ssrc": plan.ssrc, "seq0": plan.seq0, "ts0": plan.ts0}
        return self.sender.open_stream(
            destinations,
            codec,
            priority=priority,
            cname=self.cname,
            start_time=plan.start_time if plan is not None else start_time,
            groups=group_ids,
            label=label,
            **exact,
        )

    def airings(self) -> list[OnAir]:
        with self._lock:
            return list(self._airings.values())

    # -- planning -------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                wakeup = self._plan_once()
            except Exception:
                log.exception("planning failed; retrying")
                wakeup = None
            timeout = _IDLE_WAKE_S if wakeup is None else min(_IDLE_WAKE_S, max(0.0, wakeup - time.time()))
            self._wake.wait(timeout)

    def _mark_heard(self) -> None:
        """Every HEARD_INTERVAL_S, each airing's heard mark: where speakers go silent if the server dies
        now (heard.py). A thread of its own: an airing thread waits on synthesis for seconds at a time."""
        while not self._marks_stop.wait(HEARD_INTERVAL_S):
            for airing in self.airings():
                airing.write_mark()

    def _plan_once(self) -> float | None:
        if self.scheduler is not None:
            self.scheduler.run()  # before reading what is active: a new occurrence is planned at once
        active = self.store.active_broadcasts(with_audio=False)
        emergency = self.store.emergency_group()
        groups = self.store.list_groups()
        by_id = {b.id: b for b in active}
        with self._lock:
            # Cancelled (or otherwise ended) broadcasts still airing: stop them.
            for bid, airing in list(self._airings.items()):
                if bid not in by_id:
                    airing.stop("cancelled")
        if self.ahead is not None:
            self.ahead.plan(active)  # before any start: what was cancelled or cut is cleared first
        decided = policy.plan(
            time.time(),
            active,
            emergency_group_id=emergency.id if emergency else None,
            all_group_ids=frozenset(g.id for g in groups),
            # synthesis starts LEAD_S before the stream, which starts one playout delay before air time
            lead_s=LEAD_S + max((g.playout_delay_s for g in groups), default=0.0),
        )
        for cut in decided.preempt:
            self._preempt(cut, by_id)
        for chosen in decided.start + decided.resume:
            self._launch(by_id[chosen.broadcast_id], chosen)
        self._report_queue(active)
        return decided.next_wakeup

    def _preempt(self, cut: policy.Preemption, by_id: dict[str, Broadcast]) -> None:
        with self._lock:
            airing = self._airings.get(cut.broadcast_id)
        heard = None
        if airing is not None:
            airing.stop(f"preempted by {cut.by_broadcast_id}")
            airing.join(5.0)
            heard = airing.heard()  # its stream is aborted: speakers hear what was sent, then nothing
        with contextlib.suppress(InvalidTransition):
            self.store.preempt_broadcast(cut.broadcast_id, by_id[cut.by_broadcast_id], heard=heard)
            if self.metrics:
                self.metrics.preemptions_total.labels(by_id[cut.broadcast_id].priority.label).inc()

    def _launch(self, broadcast: Broadcast, airing: policy.Airing) -> None:
        groups = [self.store.get_group(g) for g in airing.group_ids]
        try:
            if airing.resuming:
                # a live segment rejoins its source at the present, never where it was cut
                live = broadcast.spec.segments[broadcast.progress.segment_index].live is not None
                broadcast = self.store.update_broadcast(
                    broadcast.id,
                    EventType.RESUMED,
                    state=BroadcastState.SYNTHESIZING,
                    resume_mode=ResumeMode.LIVE if live else ResumeMode.FROM_SENTENCE,
                    message="resumed live at the present"
                    if live
                    else f"resumed from sentence {broadcast.progress.sentence_index + 1}",
                )
            else:
                broadcast = self.store.update_broadcast(
                    broadcast.id, EventType.SYNTHESIZING, state=BroadcastState.SYNTHESIZING
                )
        except InvalidTransition:
            return
        thread = OnAir(self._studio, broadcast, groups, airing.air_at, resume=airing.resuming)
        with self._lock:
            self._airings[broadcast.id] = thread
        thread.start()

    def airing_ended(self, airing: OnAir) -> None:
        with self._lock:
            if self._airings.get(airing.broadcast.id) is airing:
                del self._airings[airing.broadcast.id]
        self._wake.set()

    def _report_queue(self, active: list[Broadcast]) -> None:
        if not self.metrics:
            return
        for priority in Priority:
            waiting = sum(
                1
                for b in active
                if b.priority == priority and b.state in (BroadcastState.QUEUED, BroadcastState.PREEMPTED)
            )
            airing = sum(1 for b in active if b.priority == priority and b.state in AIRING_STATES)
            self.metrics.queue_depth.labels(priority.label).set(waiting)
            self.metrics.on_air.labels(priority.label).set(airing)
