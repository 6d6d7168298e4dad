"""onnxruntime sessions configured for how the synthesizer runs them.

Measured on 2 cores (../shared/notes/peers.md): with two or more requests in flight, one intra-op thread
per session run and one worker per core beats onnxruntime's default by ~25%, and two threads per request
while another runs oversubscribes the cores. So when the synthesizer runs several workers, each run gets
one thread; a single worker keeps onnxruntime's default (all cores for one request).
"""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def default_intra_op_threads(workers: int) -> int:
    """1 when several workers share the cores, else 0 (onnxruntime's default: one per core)."""
    return 1 if workers > 1 else 0


def load_session(model: Path | bytes, intra_op_threads: int = 0) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(0, intra_op_threads)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    source = str(model) if isinstance(model, Path) else model
    return onnxruntime.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
