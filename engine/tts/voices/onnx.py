"""onnxruntime sessions configured for how the synthesizer runs them.

Measured on 2 cores (bench/README.md, "Peer measurements"): with two or more requests in flight,
one intra-op thread per session run and one worker per core beats onnxruntime's default by ~25%, and
two threads per request while another runs oversubscribes the cores. So when the synthesizer runs
several workers, each run gets one thread; a single worker keeps onnxruntime's default (all cores for
one request).

A piece that runs while nothing else does (the first piece of a bulletin on an idle machine) would leave
the other cores idle on one thread, so each voice also keeps a second session with one thread per core,
made on first use and run only alone. It costs the model's weights once more (~90 MiB for a Piper
medium voice). All sessions allocate from one process-wide arena, so several voices (and the two sessions
of a voice) share their working memory instead of each growing its own.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path

import onnxruntime


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def default_intra_op_threads(workers: int) -> int:
    """1 when several workers share the cores, else 0 (onnxruntime's default: one per core)."""
    return 1 if workers > 1 else 0


def load_session(
    model: Path | bytes, intra_op_threads: int = 0, *, spin: bool = True
) -> onnxruntime.InferenceSession:
    """``spin`` False: idle pool threads sleep at once instead of spinning on cores other runs need."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(0, intra_op_threads)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if _shared_arena():
        options.add_session_config_entry("session.use_env_allocators", "1")
    source = str(model) if isinstance(model, Path) else model
    return onnxruntime.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


@cache
def _shared_arena() -> bool:
    """Register one CPU arena for every session of this process (measured: 2 voices, 8 sentences each:
    194 MiB of working memory instead of 302 with an arena per session, same speed)."""
    try:
        memory = onnxruntime.OrtMemoryInfo(
            "Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, onnxruntime.OrtMemType.DEFAULT
        )
        onnxruntime.create_and_register_allocator(memory, onnxruntime.OrtArenaCfg(0, 0, -1, -1))
    except Exception:  # an older onnxruntime, or one registered already by the host program
        return False
    return True


class Sessions:
    """A voice's sessions: one the workers share, and one with every core for a piece that runs alone."""

    def __init__(self, model: Path | bytes, intra_op_threads: int = 0) -> None:
        self.model = model
        self.shared = load_session(model, intra_op_threads)
        cores = default_workers()
        # 0 is onnxruntime's default (every core): the shared session is already the fast one alone.
        self._cores = cores if 0 < intra_op_threads < cores else 0
        self._alone: onnxruntime.InferenceSession | None = None
        self._lock = threading.Lock()

    def alone(self) -> onnxruntime.InferenceSession:
        """The all-cores session (made now if needed); run it only when no other piece is running."""
        if not self._cores:
            return self.shared
        with self._lock:
            if self._alone is None:
                self._alone = load_session(self.model, self._cores, spin=False)
            return self._alone
