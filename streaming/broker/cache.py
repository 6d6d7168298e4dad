"""A cluster's cache of bulletins delivered ahead, and the injector that plays them at their time.

The broker hands the speaker each retained item (broker/ahead.py) on subscribing and whenever it
changes; :meth:`AheadCache.on_message` stores it on disk (one file per group and bulletin, 0600, in a
0700 directory, bounded in bytes: expired items go first, then the earliest start) and the
:class:`Injector` thread delivers each datagram at its send time into the speaker's ingress, as if it
had come from the group (``SpeakerAgent.deliver(group, data, None, path="cache")``). The datagrams are
the live stream's very bytes (streaming/ahead.py), so a cluster that also hears the stream live, by
multicast or the broker, plays each frame once (ingress.py ``PathCopies``), and one whose link is down
plays it all from here. Priority is the playout's business as for any stream: a live emergency covers
a cached bulletin, which resumes after it.

Time: a datagram's ``at`` is on the sender's clock; the injector compares it with the speaker's
estimate of the sender's clock (``sender_now``: local clock + the time-sync offset; None while there is
no estimate, and then nothing is injected). A datagram more than ``LATE_S`` past its time is skipped:
its frame could not play on time, and a late sender report would fail the playout's freshness gate.

Lifecycle: an empty retained message removes the item and stops an injection in progress (cancelled);
an item played to its end is removed; an item whose last datagram's time has passed before any of it
was injected (the cluster was off, or it arrived too late) is removed and reported missed
(``on_missed``). Items are reloaded on restart; a file that does not parse is deleted and counted.
Anything malformed from the broker is counted and dropped, never raised.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streaming.ahead import Timed
from streaming.broker.ahead import AheadItem

log = logging.getLogger(__name__)

LATE_S = 0.25  # a datagram this far past its send time is skipped (see the module docstring)
EARLY_S = 0.002  # delivered this much before its time at most: the injector's wake-up granularity
IDLE_S = 0.5  # the injector checks at least this often (a clock estimate may appear meanwhile)
SUFFIX = ".loah"
DONE_LIMIT = 1024  # items remembered as played or missed, so that a retained copy is not taken again

Key = tuple[str, str]  # (group id, bulletin)


@dataclass
class CacheCounters:
    stored: int = 0
    unchanged: int = 0  # the same item again (a retained copy redelivered on reconnect)
    cleared: int = 0  # empty retained messages that removed an item
    malformed: int = 0  # payloads that do not parse, or whose group/bulletin do not match the topic
    evicted: int = 0  # dropped to stay within max_bytes
    too_large: int = 0  # larger than the whole cache
    bad_files: int = 0  # files on disk that did not parse at load
    played: int = 0  # items injected to their end
    missed: int = 0
    injected: int = 0  # datagrams delivered
    skipped_late: int = 0  # datagrams past their time by more than LATE_S


@dataclass
class _Entry:
    item: AheadItem
    size: int
    cursor: int = 0  # next datagram to inject
    started: bool = False


@dataclass
class AheadCache:
    """The items, in memory and (with ``directory``) on disk. Thread-safe."""

    directory: Path | None
    max_bytes: int = 64 * 1024 * 1024
    counters: CacheCounters = field(default_factory=CacheCounters)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Key, _Entry] = {}
        self._done: dict[tuple[str, str, int, float], None] = {}  # insertion-ordered, bounded
        self.changed = threading.Event()  # set on every change: the injector re-plans
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
            self._load()

    def _load(self) -> None:
        assert self.directory is not None
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            try:
                item = AheadItem.parse(path.read_bytes())
                if path.name != _name(item.group, item.bulletin):
                    raise ValueError("file name does not match the item")
            except (OSError, ValueError):
                self.counters.bad_files += 1
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            self._entries[(item.group, item.bulletin)] = _Entry(item, item.size)

    def on_message(self, group: str, bulletin: str, payload: bytes) -> None:
        """A retained message on ``g/{group}/ahead/{bulletin}``: an item, or empty to clear it."""
        if not payload:
            if self.remove(group, bulletin) is not None:
                self.counters.cleared += 1
            return
        try:
            item = AheadItem.parse(payload)
            if (item.group, item.bulletin) != (group, bulletin):
                raise ValueError(f"item for {item.group}/{item.bulletin} on the topic of {group}/{bulletin}")
        except ValueError:
            self.counters.malformed += 1
            return
        self.put(item, payload)

    def put(self, item: AheadItem, payload: bytes | None = None) -> bool:
        """Stores ``item`` (replacing one of the same group and bulletin); False if it is already
        there, already played or missed, or larger than the whole cache."""
        key = (item.group, item.bulletin)
        size = item.size
        with self._lock:
            old = self._entries.get(key)
            if (old is not None and old.item == item) or _done_key(item) in self._done:
                self.counters.unchanged += 1
                return False
            if size > self.max_bytes:
                self.counters.too_large += 1
                return False
            self._make_room(size, key)
            self._entries[key] = _Entry(item, size)
            self.counters.stored += 1
        if self.directory is not None:
            _write(self.directory / _name(*key), payload if payload is not None else item.serialize())
        self.changed.set()
        return True

    def _make_room(self, size: int, key: Key) -> None:
        others = {k: e for k, e in self._entries.items() if k != key}
        used = sum(e.size for e in others.values())
        # expired first, then the earliest start
        for k, e in sorted(others.items(), key=lambda kv: (kv[1].item.expires_at, kv[1].item.start_time)):
            if used + size <= self.max_bytes:
                break
            self._drop(k)
            used -= e.size
            self.counters.evicted += 1

    def remove(self, group: str, bulletin: str) -> AheadItem | None:
        with self._lock:
            entry = self._drop((group, bulletin))
        self.changed.set()
        return entry.item if entry is not None else None

    def _drop(self, key: Key) -> _Entry | None:
        entry = self._entries.pop(key, None)
        if self.directory is not None:
            with contextlib.suppress(OSError):
                (self.directory / _name(*key)).unlink()
        return entry

    def items(self) -> list[AheadItem]:
        with self._lock:
            return [e.item for e in self._entries.values()]

    @property
    def bytes_used(self) -> int:
        with self._lock:
            return sum(e.size for e in self._entries.values())

    # --- the injector's side

    def due(self, now: float) -> tuple[list[tuple[str, bytes]], list[AheadItem], float | None]:
        """What to deliver at sender time ``now``: (group, datagram) pairs in order; the items missed
        (removed); and the sender time of the next datagram (None: nothing left)."""
        out: list[tuple[str, bytes]] = []
        missed: list[AheadItem] = []
        following: float | None = None
        with self._lock:
            for key, e in list(self._entries.items()):
                datagrams = e.item.datagrams
                if not e.started and (now > e.item.last_at + LATE_S or now > e.item.expires_at):
                    self._finish(key, e.item)
                    missed.append(e.item)
                    self.counters.missed += 1
                    continue
                while e.cursor < len(datagrams) and datagrams[e.cursor].at <= now + EARLY_S:
                    d: Timed = datagrams[e.cursor]
                    e.cursor += 1
                    if d.at < now - LATE_S:
                        self.counters.skipped_late += 1
                        continue
                    e.started = True
                    out.append((e.item.group, d.data))
                if e.cursor >= len(datagrams):
                    self._finish(key, e.item)
                    self.counters.played += e.started
                    continue
                at = datagrams[e.cursor].at
                following = at if following is None else min(following, at)
            self.counters.injected += len(out)
        return out, missed, following

    def _finish(self, key: Key, item: AheadItem) -> None:
        self._drop(key)
        self._done[_done_key(item)] = None
        if len(self._done) > DONE_LIMIT:
            del self._done[next(iter(self._done))]


class Injector:
    """One thread: each cached datagram into ``deliver(group_id, data)`` at its send time."""

    def __init__(
        self,
        cache: AheadCache,
        deliver: Callable[[str, bytes], None],
        sender_now: Callable[[], float | None],
        on_missed: Callable[[AheadItem], None] = lambda item: None,
    ) -> None:
        self.cache = cache
        self._deliver = deliver
        self._sender_now = sender_now
        self._on_missed = on_missed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loa-ahead-injector", daemon=True)

    def start(self) -> Injector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.cache.changed.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.cache.changed.clear()
            now = self._sender_now()
            wait = IDLE_S
            if now is not None:
                out, missed, following = self.cache.due(now)
                for group, data in out:
                    try:
                        self._deliver(group, data)
                    except Exception:  # the ingress never raises on content; a bug must not end playing
                        log.exception("cache: delivering a datagram failed")
                for item in missed:
                    with contextlib.suppress(Exception):
                        self._on_missed(item)
                if following is not None:
                    wait = min(IDLE_S, max(0.0, following - EARLY_S / 2 - now))
            self.cache.changed.wait(wait)


def _name(group: str, bulletin: str) -> str:
    # group ids are [a-z0-9-], bulletins [A-Za-z0-9_-]: "." separates them unambiguously
    return f"{group}.{bulletin}{SUFFIX}"


def _done_key(item: AheadItem) -> tuple[str, str, int, float]:
    return (item.group, item.bulletin, item.airing, item.start_time)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
