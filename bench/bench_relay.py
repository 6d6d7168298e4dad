"""CPU per relayed source (issue #14): decode + resample + level (engine/live/relay.py), and the same
plus the Opus encoding a live segment costs on its way to the speakers (streaming/opus.py).

Inside a private namespace (tests/live/stations.py): icecast2 fed by ffmpeg (MP3 128 kb/s and Ogg/Opus
64 kb/s mono, white noise), N relays of one mount in this process for S seconds, each read by its own
thread at the wall clock's pace as an airing would. The CPU is this process's (all its threads; icecast2
and ffmpeg are other processes), so per relay = CPU seconds / (N x S): the fraction of one core a relay
costs, and 1 / that is how many relays one core holds.

    python -m bench.bench_relay [--relays 8] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from engine.live.relay import Relay
from engine.live.urls import UrlPolicy
from streaming.opus import FRAME_SAMPLES, OpusEncoder
from tests.live import stations

POLICY = UrlPolicy.parse(["127.0.0.0/8"])


def consume(relay: Relay, encode: bool) -> None:
    encoder = OpusEncoder() if encode else None
    pending = np.zeros(0, np.float32)
    for chunk in relay.chunks():
        if encoder is None:
            continue
        pending = np.concatenate([pending, chunk])
        while pending.size >= FRAME_SAMPLES:
            encoder.encode(pending[:FRAME_SAMPLES])
            pending = pending[FRAME_SAMPLES:]


def measure(url: str, relays: int, seconds: float, encode: bool) -> dict[str, float]:
    started = [Relay(url, duration_s=seconds + 3.0, policy=POLICY) for _ in range(relays)]
    threads = [threading.Thread(target=consume, args=(r, encode)) for r in started]
    for th in threads:
        th.start()
    time.sleep(3.0)  # connected, burst dropped, leveller settled
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    for r in started:
        r.close()
    for th in threads:
        th.join()
    per_relay = cpu / (relays * wall)
    return {
        "core_per_relay": per_relay,
        "relays_per_core": 1 / per_relay,
        "gaps": sum(len(r.gaps) for r in started),
    }


def inside(relays: int, seconds: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    results = {}
    with stations.icecast(workdir) as base:
        sources = [
            stations.feed_icecast(base, "/b.mp3", "mp3", 4 * (seconds + 10)),
            stations.feed_icecast(base, "/b.opus", "opus", 4 * (seconds + 10)),
        ]
        try:
            for mount in ("/b.mp3", "/b.opus"):
                stations.wait_mount(base, mount)
            for mount in ("/b.mp3", "/b.opus"):
                for encode in (False, True):
                    key = f"{mount[3:]}{' +opus encode' if encode else ''}"
                    results[key] = measure(base + mount, relays, seconds, encode)
        finally:
            for proc in sources:
                stations.stop(proc)
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--relays", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.relays, args.seconds)
        return
    argv = [sys.executable, "-m", "bench.bench_relay", "--inside", "--relays", str(args.relays)]
    argv += ["--seconds", str(args.seconds)]
    proc = subprocess.run(stations.namespace_command(argv), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{args.relays} relays at once, {args.seconds:g} s measured each (this process's CPU, all threads)")
    print(f"{'source':<22}{'core per relay':>16}{'relays per core':>17}{'gaps':>6}")
    for name, r in results.items():
        print(f"{name:<22}{r['core_per_relay'] * 100:>15.1f}%{r['relays_per_core']:>17.1f}{r['gaps']:>6}")


if __name__ == "__main__":
    main()
