"""Helpers for the scenario scripts that run inside a private network namespace, and for their judges.

Speakers run as real ``python -m streaming speaker`` processes; the sender in the scenario's process.
:class:`Relay` is the user-space impairment (this kernel has no netem): it joins one group and re-sends to
another with seeded loss, delay jitter (hence reordering) and duplication.
"""

from __future__ import annotations

import heapq
import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from streaming.clock import SimulatedClock


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced harmonics with a wandering pitch and a syllable-rate envelope, plus a little breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(48_000 * seconds)) / 48_000
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / 48_000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 15))
    envelope = (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
    return (0.2 * voiced * envelope + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def start_speakers(
    names: list[str], outdir: Path, args: list[str], per_speaker: dict[str, list[str]] | None = None
) -> list[subprocess.Popen[str]]:
    procs = []
    for name in names:
        argv = [
            sys.executable,
            "-m",
            "streaming",
            "speaker",
            "--name",
            name,
            "--sink",
            str(outdir / f"{name}.wav"),
        ]
        procs.append(
            subprocess.Popen(
                [*argv, *args, *(per_speaker or {}).get(name, [])],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("{"):
            raise RuntimeError(f"speaker failed to start: {line} {proc.stderr.read() if proc.stderr else ''}")
    return procs


def stop_speakers(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        _, err = proc.communicate(timeout=20)
        if proc.returncode != 0:
            raise RuntimeError(f"speaker exited {proc.returncode}: {err}")


@dataclass
class Recording:
    audio: np.ndarray
    meta: dict[str, Any]

    @property
    def first_index(self) -> int:
        return int(self.meta["first_sample_index"])

    def true_time(self, index: int) -> float:
        local = index / 48_000
        clock = self.meta.get("clock")
        return SimulatedClock(**clock).true(local) if clock else local

    def play_times(self) -> dict[tuple[int, int], float]:
        """(ssrc, rtp) of each frame played → the true wall time its first sample played."""
        return {(f[0], f[1]): self.true_time(f[2]) for f in self.meta["frames"]}

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.meta["frames"]:
            out[f[3]] = out.get(f[3], 0) + 1
        return out


def load(outdir: Path, name: str) -> Recording:
    audio, rate = soundfile.read(str(outdir / f"{name}.wav"), dtype="float32")
    assert rate == 48_000
    return Recording(audio, json.loads((outdir / f"{name}.wav.json").read_text()))


def skews(recordings: list[Recording]) -> np.ndarray:
    """For every frame all recordings played: the spread (max - min) of their true play times, seconds."""
    times = [r.play_times() for r in recordings]
    common = set(times[0]).intersection(*times[1:])
    return np.array([max(t[k] for t in times) - min(t[k] for t in times) for k in sorted(common)])


class Relay:
    """Joins ``source`` group:port (and port+1 for RTCP) and re-sends to ``target`` with impairments.

    RTP gets seeded loss, a uniform extra delay in [0, 2 * jitter] (so packets reorder) and duplicates;
    RTCP is delayed the same way but never lost, so the test is about the media, not the mapping.
    ``reorder``: the share of RTP packets held back ``reorder_delay`` more, so they surely arrive after
    their successors. ``outage``: (from, to) seconds after start() during which nothing gets through,
    RTCP included (a link down); the RTP timestamps it swallowed are kept in ``outage_timestamps``.
    """

    def __init__(
        self,
        source: tuple[str, int],
        target: tuple[str, int],
        *,
        loss: float,
        jitter: float,
        duplicate: float,
        seed: int,
        reorder: float = 0.0,
        reorder_delay: float = 0.045,
        outage: tuple[float, float] | None = None,
    ) -> None:
        # one generator per direction, so the loss pattern of RTP does not depend on thread timing
        self.rngs = (random.Random(seed), random.Random(seed + 1))
        self.loss, self.jitter, self.duplicate = loss, jitter, duplicate
        self.source, self.target = source, target
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.out.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self._heap: list[tuple[float, int, bytes, int]] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._n = 0
        self.reorder, self.reorder_delay, self.outage = reorder, reorder_delay, outage
        self.dropped = self.duplicated = self.forwarded = self.reordered = 0
        self.outage_timestamps: list[int] = []
        self.t0 = 0.0
        self._threads = [
            threading.Thread(target=self._recv, args=(0,), daemon=True),
            threading.Thread(target=self._recv, args=(1,), daemon=True),
            threading.Thread(target=self._send, daemon=True),
        ]

    def start(self) -> Relay:
        self.t0 = time.time()
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        for t in self._threads:
            t.join(timeout=2)

    def _recv(self, rtcp: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.source[0], self.source[1] + rtcp))
        sock.setsockopt(
            socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(self.source[0]) + bytes(4)
        )
        sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data, _ = sock.recvfrom(2048)
            except TimeoutError:
                continue
            now = time.time()
            rng = self.rngs[rtcp]
            with self._cond:
                if self.outage and self.outage[0] <= now - self.t0 < self.outage[1]:
                    if not rtcp and len(data) >= 12:
                        self.outage_timestamps.append(int.from_bytes(data[4:8], "big"))
                    continue
                copies, extra = 1, 0.0
                if not rtcp:
                    if rng.random() < self.loss:
                        self.dropped += 1
                        continue
                    if rng.random() < self.duplicate:
                        copies, self.duplicated = 2, self.duplicated + 1
                    if self.reorder and rng.random() < self.reorder:
                        extra, self.reordered = self.reorder_delay, self.reordered + 1
                for _ in range(copies):
                    self._n += 1
                    delay = rng.uniform(0, 2 * self.jitter) + extra
                    heapq.heappush(self._heap, (now + delay, self._n, data, rtcp))
                self._cond.notify()

    def _send(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                if not self._heap:
                    self._cond.wait(0.05)
                    continue
                due = self._heap[0][0]
                if due > time.time():
                    self._cond.wait(due - time.time())
                    continue
                _, _, data, rtcp = heapq.heappop(self._heap)
            self.out.sendto(data, (self.target[0], self.target[1] + rtcp))
            self.forwarded += 1
