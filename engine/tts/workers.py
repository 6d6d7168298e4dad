"""The synthesis worker threads and their one queue, ordered for first audio and emergencies.

* One worker thread per core, each onnxruntime run on one intra-op thread: with two or more requests in
  flight that beats onnxruntime's default by ~25%. No cross-request batching: on CPU it gained nothing.
* One queue for all requests, ordered: emergency pieces, then the first piece of any request, then later
  pieces, then background pieces (bulletins synthesized ahead of their time); within that by priority,
  then by arrival. A new bulletin starts speaking while long ones run.
* A first piece that finds every worker idle and no other request queued runs alone on all cores (the
  voice's all-cores session) while the other workers wait: alone, a bulletin starts speaking as fast as
  the machine allows (on 2 cores ~0.07 s instead of ~0.1 s for a 3-word piece), and under load no run
  ever shares the cores with a multi-threaded one (that oversubscribes: bench/README.md, "Peer measurements").
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from streaming.priority import Priority

T = TypeVar("T")


@dataclass
class Task(Generic[T]):
    """One piece of work; ``done`` is set when ``result`` or ``error`` is ready (or it was dropped).

    ``render(alone)`` does the work; ``alone`` says it may use every core. Tasks of one request share
    their ``cancelled`` Event: set, its queued tasks are dropped unrun."""

    render: Callable[[bool], T]
    first: bool
    cancelled: threading.Event
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None
    background: bool = False  # work ahead of need (a bulletin delivered ahead): after everything else


class WorkerPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._queue: list[tuple[tuple[int, int, int], Task[Any]]] = []
        self._cv = threading.Condition()
        self._sequence = itertools.count()
        self._running = 0  # tasks being rendered
        self._alone = False  # one of them is running on every core: the other workers wait
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"loa-tts-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Task[Any], priority: Priority) -> None:
        # background work queues behind every live piece, and never runs alone on all cores
        rank = 0 if priority == Priority.EMERGENCY else 3 if task.background else 1 if task.first else 2
        with self._cv:
            heapq.heappush(self._queue, ((rank, -priority, next(self._sequence)), task))
            self._cv.notify()

    def queued(self) -> int:
        with self._cv:
            return len(self._queue)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def _work(self) -> None:
        while True:
            with self._cv:
                while (not self._queue or self._alone) and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                _, task = heapq.heappop(self._queue)
                # Idle machine, first piece: run it on every core while the other workers wait. Idle means
                # nothing running and nothing queued but this request's own next pieces; otherwise (say 16
                # bulletins at once) every first piece would take its turn alone.
                alone = (
                    self.workers > 1
                    and task.first
                    and not task.background
                    and self._running == 0
                    and all(q.cancelled is task.cancelled or q.background for _, q in self._queue)
                )
                self._alone = alone
                self._running += 1
            try:
                if not task.cancelled.is_set():
                    task.result = task.render(alone)
            except BaseException as error:  # handed to the request's thread, which raises it
                task.error = error
            finally:
                with self._cv:  # before done: the request's next piece must find this worker free
                    self._running -= 1
                    if alone:
                        self._alone = False
                        self._cv.notify_all()
                task.done.set()
