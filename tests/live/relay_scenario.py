"""The relay against real stations, inside one namespace (run by tests/live/test_relay.py):
``python -m tests.live.relay_scenario`` prints one JSON object of measurements, one entry per case.

Phase 1 runs the cases side by side (one icecast2, several ffmpeg sources): MP3 and Ogg/Opus over
Icecast and RTP/Opus by an SDP compared with the source signal (cross-correlation: lag at the start and
at the end), a stall made by a TCP relay that stops forwarding, a dead primary with a live backup,
garbage served over HTTP. Phase 2, alone in the process: threads and file descriptors after many
open/close cycles, and memory over a longer relay.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.live.feed import LiveSourceFailed
from engine.live.relay import Relay, RelayOptions
from engine.live.urls import UrlPolicy
from tests.live import stations
from tests.tcp_relay import TcpRelay

RATE = 48_000
POLICY = UrlPolicy.parse(["127.0.0.0/8"])  # the stations are on the namespace's loopback
Result = dict[str, Any]
# Compared from here on: by then the clocked buffer has dropped Icecast's connect burst (clocked.py)
SETTLED_S = 5


BAND_HZ = 2000  # compared below this: the band every codec keeps, where the clocked buffer's ±1 sample
# per chunk (a skew of 0.1 %, inaudible) moves a window by a fraction of a wavelength instead of
# scrambling white noise's top octaves


def lag_of(window: np.ndarray, ref: np.ndarray) -> tuple[int, float]:
    """Where ``window`` sits in ``ref`` (samples) and the normalized correlation there, both below
    BAND_HZ (a cross-correlation computed from the spectra's bins under BAND_HZ only)."""
    n = 1 << (ref.size + window.size).bit_length()
    keep = int(BAND_HZ * n / RATE)
    r = np.fft.rfft(ref, n)
    w = np.fft.rfft(window, n)
    r[keep:] = 0
    w[keep:] = 0
    corr = np.fft.irfft(r * np.conj(w), n)[: ref.size - window.size]
    at = int(np.argmax(corr))
    ref_low = np.fft.irfft(r, n)[at : at + window.size]
    win_low = np.fft.irfft(w, n)[: window.size]
    score = float(np.dot(ref_low, win_low) / (np.linalg.norm(ref_low) * np.linalg.norm(win_low) + 1e-12))
    return at, score


def compare(out: np.ndarray, ref: np.ndarray, win_s: float = 2.0, skip_s: int | None = None) -> Result:
    """Lag of the output's first and last ``win_s`` in the source, and the drift between them."""
    w = int(win_s * RATE)
    skip = (SETTLED_S if skip_s is None else skip_s) * RATE
    first = out[skip : skip + w]
    last = out[-w:]
    lag0, c0 = lag_of(first, ref)
    lag1, c1 = lag_of(last, ref)
    # the same lag means sample i of the output is sample i + lag of the source all along
    return {
        "seconds": out.size / RATE,
        "lag_start": lag0 - skip,
        "lag_end": lag1 - (out.size - w),
        "corr_start": c0,
        "corr_end": c1,
    }


def relay_all(relay: Relay) -> tuple[np.ndarray, float]:
    t0 = time.monotonic()
    chunks = list(relay.chunks())
    relay.close()
    relay.join(10)
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), time.monotonic() - t0


def case_mp3(base: str, ref: np.ndarray) -> Result:
    relay = Relay(base + "/a.mp3", duration_s=15.0, policy=POLICY)
    out, took = relay_all(relay)
    return {**compare(out, ref), "wall_s": took, "gaps": len(relay.gaps), "end": relay.end_reason}


def case_opus(base: str, ref: np.ndarray) -> Result:
    relay = Relay(base + "/b.opus", duration_s=9.0, policy=POLICY)
    out, took = relay_all(relay)
    return {**compare(out, ref), "wall_s": took, "gaps": len(relay.gaps)}


def case_rtp(workdir: Path, ref: np.ndarray) -> Result:
    proc, sdp_file = stations.rtp_source(workdir, 5004, 14.0)
    sdp = sdp_file.read_bytes()
    server = stations.HttpServer({"/station.sdp": lambda: iter([sdp])})
    try:
        relay = Relay(f"http://127.0.0.1:{server.port}/station.sdp", duration_s=6.0, policy=POLICY)
        out, took = relay_all(relay)
        return {**compare(out, ref), "wall_s": took, "gaps": len(relay.gaps)}
    finally:
        server.close()
        stations.stop(proc)


def case_hls(directory: Path, ref: np.ndarray) -> Result:
    server = stations.DirServer(directory)
    try:
        relay = Relay(f"http://127.0.0.1:{server.port}/live.m3u8", duration_s=6.0, policy=POLICY)
        out, took = relay_all(relay)
    finally:
        server.close()
    return {**compare(out, ref, skip_s=1), "wall_s": took, "gaps": len(relay.gaps)}


def case_stall(base: str, port: int) -> Result:
    tcp = TcpRelay(("127.0.0.1", 0), ("127.0.0.1", port)).start()
    opts = RelayOptions(stall_s=1.5, connect_timeout_s=1.5, retry_base_s=0.2, retry_max_s=0.5)
    relay = Relay(
        f"http://127.0.0.1:{tcp.address[1]}/stall.mp3", duration_s=11.0, policy=POLICY, options=opts
    )
    events: list[float] = []

    def impair() -> None:
        time.sleep(4.0)
        events.append(time.time())
        tcp.stall()
        time.sleep(3.0)
        tcp.restore()
        events.append(time.time())

    threading.Thread(target=impair, daemon=True).start()
    try:
        out, _took = relay_all(relay)
    finally:
        tcp.close()
    tail = out[-2 * RATE :]
    return {
        "gaps": [[g.start_time - events[0], g.length_s, g.cause] for g in relay.gaps],
        "stall_s": events[1] - events[0],
        "tail_rms": float(np.sqrt(np.mean(tail**2))),
        "seconds": out.size / RATE,
        "faults": relay.faults,
    }


def case_backup(base: str) -> Result:
    relay = Relay(
        "http://127.0.0.1:9/dead.mp3",
        [base + "/backup.mp3"],
        duration_s=4.0,
        policy=POLICY,
        options=RelayOptions(retry_base_s=0.2),
    )
    out, took = relay_all(relay)
    return {
        "seconds": out.size / RATE,
        "rms": float(np.sqrt(np.mean(out**2))) if out.size else 0.0,
        "faults": relay.faults,
        "gaps": len(relay.gaps),
        "wall_s": took,
    }


def case_malformed() -> Result:
    server = stations.HttpServer({"/garbage.mp3": stations.garbage})
    opts = RelayOptions(
        start_timeout_s=4.0, stall_s=2.0, connect_timeout_s=2.0, retry_base_s=0.2, retry_max_s=0.5
    )
    relay = Relay(f"http://127.0.0.1:{server.port}/garbage.mp3", duration_s=10.0, policy=POLICY, options=opts)
    t0 = time.monotonic()
    try:
        list(relay.chunks())
        error = None
    except LiveSourceFailed as e:
        error = str(e)
    finally:
        relay.close()
        relay.join(10)
        server.close()
    return {
        "error": error,
        "attempts": relay.attempts,
        "faults": relay.faults,
        "wall_s": time.monotonic() - t0,
    }


def case_leaks(base: str) -> Result:
    opts = RelayOptions(target_s=0.1)
    threads0, fds0 = threading.active_count(), stations.open_fds()
    for _ in range(20):
        relay = Relay(base + "/leak.mp3", duration_s=60.0, policy=POLICY, options=opts)
        for _chunk in relay.chunks():
            break
        relay.close()
        relay.join(5)
    time.sleep(0.2)
    return {"threads": [threads0, threading.active_count()], "fds": [fds0, stations.open_fds()]}


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def case_memory(base: str) -> Result:
    relay = Relay(base + "/leak.mp3", duration_s=12.0, policy=POLICY)
    marks: list[float] = []
    t0 = time.monotonic()
    for _chunk in relay.chunks():
        if time.monotonic() - t0 >= 3.0 + len(marks):
            marks.append(rss_mib())
    relay.close()
    relay.join(5)
    return {"rss_mib": marks}


def run_parallel(cases: dict[str, Callable[[], Result]]) -> Result:
    results: Result = {}

    def one(name: str, fn: Callable[[], Result]) -> None:
        t0 = time.monotonic()
        try:
            results[name] = fn()
        except Exception as e:  # reported, so the test says which case broke
            results[name] = {"exception": f"{type(e).__name__}: {e}"}
        results[name]["case_s"] = time.monotonic() - t0

    threads = [threading.Thread(target=one, args=item) for item in cases.items()]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="relay-"))
    t0 = time.monotonic()
    ref = stations.reference(40.0)
    hls, hls_dir = stations.hls_source(workdir, 40.0)  # first: its playlist needs segments
    port = 8000
    with stations.icecast(workdir, port) as base:
        sources = [
            stations.feed_icecast(base, "/a.mp3", "mp3", 40),
            stations.feed_icecast(base, "/b.opus", "opus", 30),
            stations.feed_icecast(base, "/stall.mp3", "mp3", 30),
            stations.feed_icecast(base, "/backup.mp3", "mp3", 30),
            stations.feed_icecast(base, "/leak.mp3", "mp3", 90),
        ]
        try:
            for mount in ("/a.mp3", "/b.opus", "/stall.mp3", "/backup.mp3", "/leak.mp3"):
                stations.wait_mount(base, mount)
            results = run_parallel(
                {
                    "mp3": lambda: case_mp3(base, ref),
                    "opus": lambda: case_opus(base, ref),
                    "rtp": lambda: case_rtp(workdir, ref),
                    "stall": lambda: case_stall(base, port),
                    "backup": lambda: case_backup(base),
                    "malformed": case_malformed,
                    "hls": lambda: case_hls(hls_dir, ref),
                }
            )
            results.update(run_parallel({"leaks": lambda: case_leaks(base)}))
            results.update(run_parallel({"memory": lambda: case_memory(base)}))
        finally:
            for proc in [*sources, hls]:
                stations.stop(proc)
    results["total_s"] = time.monotonic() - t0
    print(json.dumps(results))


if __name__ == "__main__":
    main()
