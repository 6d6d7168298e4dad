"""Admission control: the server takes on only the work it can hold, and tells the rest when to come back.

Why each bound exists (a refusal is RESOURCE_EXHAUSTED with ``retry-after-ms`` in the trailing metadata,
see :class:`engine.errors.Exhausted`):

- Text-to-speech calls (Synthesize, StreamSynthesize, Normalize) at once: each holds a server thread, CPU
  and its audio until it ends. Beyond the limit a call is refused at once instead of queueing behind
  the others (a queue would only grow under overload, with every caller's deadline running out in it).
  Broadcasts on air do not use these slots: their synthesis is ordered by priority inside the
  synthesizer, emergency pieces first.
- WatchBroadcast streams at once: each holds a server thread for as long as it is open. Together the two
  limits leave :data:`RESERVED_THREADS` threads of the gRPC pool free for short calls, so a
  CreateBroadcast is never stuck behind long-running ones.
- Unfinished broadcasts per priority, and the bytes of their pre-recorded audio: the runner plans over
  every unfinished broadcast, so these bound its memory and work.
- EMERGENCY broadcasts are never refused for load: they are not counted against any limit and do not
  wait for the lock the others take. Only the emergency role may send them (engine/api/auth.py).
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Exhausted
from engine.jobs.broadcast_rows import idempotency_column
from engine.jobs.errors import StoreError
from engine.jobs.model import LOCAL_SCOPE, TERMINAL_STATES, BroadcastSpec, Priority

RESERVED_THREADS = 8  # gRPC pool threads the long-running calls may never take
QUEUE_RETRY_FACTOR = 10  # a full broadcast queue drains at the pace of airing, slower than a synthesis call
_TERMINAL = ", ".join(str(int(s)) for s in sorted(TERMINAL_STATES))


@dataclass(frozen=True)
class Limits:
    synthesis_calls: int = 8
    watch_calls: int = 16
    queued: Mapping[Priority, int] | None = None  # None: the defaults below; EMERGENCY is never limited
    queued_audio_bytes: int = 512 * 1024 * 1024
    retry_after_s: float = 1.0

    def queue_limit(self, priority: Priority) -> int | None:
        if priority == Priority.EMERGENCY:
            return None
        queued = self.queued if self.queued is not None else DEFAULT_QUEUED
        return queued.get(priority)

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        """From engine.config.Config; ValueError naming the setting when the limits cannot work."""
        for name in ("max_synthesis_calls", "max_watch_calls", "max_queued_normal", "max_queued_high"):
            if getattr(config, name) < 1:
                raise ValueError(f"config {name}: must be at least 1, got {getattr(config, name)}")
        if config.max_queued_audio_mb < 0:
            raise ValueError(f"config max_queued_audio_mb: at least 0, got {config.max_queued_audio_mb}")
        if config.retry_after_ms < 1:
            raise ValueError(f"config retry_after_ms: must be at least 1, got {config.retry_after_ms}")
        long_calls = config.max_synthesis_calls + config.max_watch_calls
        if long_calls > config.grpc_threads - RESERVED_THREADS:
            raise ValueError(
                f"config max_synthesis_calls + max_watch_calls: {long_calls} would leave fewer than "
                f"{RESERVED_THREADS} of grpc_threads ({config.grpc_threads}) for short calls"
            )
        return cls(
            synthesis_calls=config.max_synthesis_calls,
            watch_calls=config.max_watch_calls,
            queued={Priority.NORMAL: config.max_queued_normal, Priority.HIGH: config.max_queued_high},
            queued_audio_bytes=config.max_queued_audio_mb * 1024 * 1024,
            retry_after_s=config.retry_after_ms / 1000,
        )


DEFAULT_QUEUED: Mapping[Priority, int] = {Priority.NORMAL: 1000, Priority.HIGH: 500}


def hint(base_s: float) -> float:
    """The retry delay to send: the base plus up to half again, so refused callers do not return together."""
    return base_s * random.uniform(1.0, 1.5)


@dataclass(frozen=True)
class Backlog:
    """Unfinished broadcasts now: how many of each priority, and the bytes of their pre-recorded audio."""

    counts: Mapping[Priority, int]
    audio_bytes: int


def refusal(priority: Priority, audio_bytes: int, backlog: Backlog, limits: Limits) -> Exhausted | None:
    """Why a new broadcast of ``priority`` with ``audio_bytes`` of audio must wait; None: admit it."""
    limit = limits.queue_limit(priority)
    if limit is None:
        return None
    retry = hint(limits.retry_after_s * QUEUE_RETRY_FACTOR)
    waiting = backlog.counts.get(priority, 0)
    name = priority.name
    if waiting >= limit:
        return Exhausted(
            f"priority: {waiting} unfinished {name} broadcasts, at most {limit} (max_queued_{name.lower()});"
            " retry later",
            retry,
        )
    if audio_bytes and backlog.audio_bytes + audio_bytes > limits.queued_audio_bytes:
        return Exhausted(
            f"segments: unfinished broadcasts already hold {backlog.audio_bytes} bytes of audio, "
            f"{audio_bytes} more would pass {limits.queued_audio_bytes} (max_queued_audio_mb); retry later",
            retry,
        )
    return None


class Slots:
    """A count of calls in progress that refuses the one over the limit instead of making it wait."""

    def __init__(self, what: str, setting: str, limit: int, retry_after_s: float) -> None:
        self.what = what
        self.setting = setting
        self.limit = limit
        self.retry_after_s = retry_after_s
        self._in_use = 0
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        return self._in_use

    @contextmanager
    def take(self) -> Iterator[None]:
        with self._lock:
            if self._in_use >= self.limit:
                raise Exhausted(
                    f"{self.what}: {self._in_use} calls in progress, at most {self.limit} ({self.setting});"
                    " retry later",
                    hint(self.retry_after_s),
                )
            self._in_use += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_use -= 1


class BacklogReader:
    """Reads the backlog from the store's database on a read-only connection of its own.

    The store (engine/jobs/store.py) has no count query, and loading every unfinished broadcast to count
    them would cost what the limit is there to bound; SQLite in WAL mode lets this reader see every
    committed write without taking the store's lock.
    """

    def __init__(self, db_path: str | Path) -> None:
        uri = Path(db_path).resolve().as_uri() + "?mode=ro"
        try:
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10.0)
        except sqlite3.Error as exc:
            raise StoreError(f"state store {db_path}: cannot open for reading: {exc}") from exc
        self._path = db_path
        self._lock = threading.Lock()

    def backlog(self) -> Backlog:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT priority, COUNT(*) FROM broadcasts"
                f" WHERE state NOT IN ({_TERMINAL}) GROUP BY priority"
            ).fetchall()
            (audio,) = conn.execute(
                "SELECT COALESCE(SUM(LENGTH(a.audio)), 0) FROM segment_audio a"
                f" JOIN broadcasts b ON b.seq = a.broadcast_seq WHERE b.state NOT IN ({_TERMINAL})"
            ).fetchone()
        known = {int(p) for p in Priority}
        return Backlog({Priority(p): int(n) for p, n in rows if p in known}, int(audio))

    def knows_key(self, scope: str, idempotency_key: str) -> bool:
        """Whether this caller (``scope``: Caller.scope) stored a broadcast with this idempotency key (its
        retry is answered, not queued)."""
        column = idempotency_column(scope, idempotency_key)
        with self._read() as conn:
            row = conn.execute("SELECT 1 FROM broadcasts WHERE idempotency_key = ?", (column,))
            return row.fetchone() is not None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"state store {self._path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Admission:
    """The server's bounds, used by the servicers: ``with admission.synthesis.take(): ...``."""

    def __init__(self, limits: Limits, backlog: BacklogReader) -> None:
        self.limits = limits
        self.synthesis = Slots(
            "synthesis", "max_synthesis_calls", limits.synthesis_calls, limits.retry_after_s
        )
        self.watch = Slots("watch", "max_watch_calls", limits.watch_calls, limits.retry_after_s)
        self._backlog = backlog
        self._lock = threading.Lock()

    @contextmanager
    def broadcast(self, spec: BroadcastSpec, scope: str = LOCAL_SCOPE) -> Iterator[None]:
        """Admits one CreateBroadcast; the caller stores it inside the block.

        The lock spans counting and storing, so concurrent requests cannot together pass a limit.
        A retry of a stored request (same idempotency key from the same caller, ``scope``) is let through
        to get its answer.
        """
        if spec.priority == Priority.EMERGENCY:
            yield
            return
        audio = sum(len(s.audio) for s in spec.segments if s.audio is not None)
        with self._lock:
            refused = refusal(spec.priority, audio, self._backlog.backlog(), self.limits)
            if refused is not None and not (
                spec.idempotency_key and self._backlog.knows_key(scope, spec.idempotency_key)
            ):
                raise refused
            yield

    def close(self) -> None:
        self._backlog.close()
