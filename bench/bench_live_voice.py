"""Live voice latency: microphone chunk in → sound at the speakers (issue #14).

A real `loa serve` and a real speaker in a private namespace (tests/api/harness.py). A client streams
AirLiveVoice as a microphone would: 20 ms PCM chunks at 16 kHz, each sent when the wall clock reaches
it; the signal is silence with a 20 ms burst every 250 ms. For each burst, the latency is the speaker's
wall time of the burst's first loud sample minus the wall time its chunk was handed to gRPC; the goal is
the group's playout delay + at most 150 ms. Both host clocks are the same machine's, so no sync error.

    python -m bench.bench_live_voice [--seconds 20] [--delay 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from engine.api import convert
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group

RATE = 16_000
CHUNK = 320  # 20 ms
EVERY = 12.5  # chunks between bursts: 250 ms


def requests(seconds: float, sent: list[float]) -> Iterator[pb.LiveVoiceRequest]:
    yield pb.LiveVoiceRequest(
        header=pb.LiveVoiceHeader(
            group_ids=["bench"],
            title="bench",
            format=pb.LIVE_AUDIO_FORMAT_PCM_S16LE,
            sample_rate=RATE,
            max_duration=convert.duration(seconds + 5),
        )
    )
    t = np.arange(CHUNK) / RATE
    burst = (0.5 * np.sin(2 * np.pi * 1000 * t) * 32767).astype("<i2").tobytes()
    quiet = bytes(2 * CHUNK)
    t0 = time.time()
    n = round(seconds / 0.02)
    for k in range(n):
        time.sleep(max(0.0, t0 + k * 0.02 - time.time()))
        loud = k % EVERY < 1 and 10 <= k < n - 10
        if loud:
            sent.append(time.time())
        yield pb.LiveVoiceRequest(audio=burst if loud else quiet)


def onsets(audio: np.ndarray, first_wall: float, rate: int) -> list[float]:
    """Wall times of each burst's first loud sample (after at least 100 ms of quiet)."""
    loud = np.flatnonzero(np.abs(audio) > 0.05)
    starts = [int(i) for j, i in enumerate(loud) if j == 0 or i - loud[j - 1] > rate // 10]
    return [first_wall + i / rate for i in starts]


def run(seconds: float, delay: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp)).start()
        try:
            client = server.client()
            g = group("bench", "239.192.60.1", playout_delay=convert.duration(delay))
            client.groups.CreateGroup(pb.CreateGroupRequest(group=g), metadata=client.metadata)
            speaker = server.speaker("bench-0", [f"239.192.60.1:5004:normal:{round(delay * 1000)}"])
            sent: list[float] = []
            reply = client.broadcasts.AirLiveVoice(requests(seconds, sent), metadata=client.metadata)
            assert reply.state == pb.BROADCAST_STATE_FINISHED, reply.failure_reason
            time.sleep(delay + 0.3)
            speaker.stop()
            audio, meta = speaker.recording()
            heard = onsets(audio, meta["first_sample_wall"], meta["sample_rate"])
        finally:
            server.stop()
    if len(heard) != len(sent):
        raise SystemExit(f"{len(sent)} bursts sent, {len(heard)} heard")
    latencies = sorted(h - s for h, s in zip(heard, sent, strict=True))
    over = [x - delay for x in latencies]
    return {
        "bursts": len(latencies),
        "p50_s": statistics.median(latencies),
        "p99_s": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))],
        "max_s": latencies[-1],
        "p50_over_delay_ms": 1000 * statistics.median(over),
        "p99_over_delay_ms": 1000 * over[min(len(over) - 1, round(0.99 * (len(over) - 1)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--delay", type=float, default=0.3, help="the group's playout delay (s)")
    args = parser.parse_args()
    result = run(args.seconds, args.delay)
    print(f"live voice, playout delay {args.delay * 1000:.0f} ms, {result['bursts']} bursts:")
    print(
        f"  chunk in → sound: p50 {result['p50_s'] * 1000:.1f} ms, p99 {result['p99_s'] * 1000:.1f} ms,"
        f" max {result['max_s'] * 1000:.1f} ms"
    )
    print(
        f"  beyond the playout delay: p50 {result['p50_over_delay_ms']:.1f} ms,"
        f" p99 {result['p99_over_delay_ms']:.1f} ms (goal ≤ 150 ms)"
    )


if __name__ == "__main__":
    main()
