"""Broker fan-out: Mosquitto's CPU per delivered media message, bundled (5 frames) and not (1 frame).

``python -m bench.bench_broker [--clusters N] [--groups G] [--seconds S]`` re-runs itself inside a private
network namespace (nothing leaves the machine), starts the embedded Mosquitto over TLS with one server and
N cluster accounts, connects N ``BrokerSource``s (G groups, N/G clusters each), paces 50 frames/s of
100-byte stand-in SRTP packets per group for S seconds through ``BrokerPublisher``, once with 5 frames per
bundle and once with 1, and reads Mosquitto's user+system CPU time from /proc. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.fleet_rig import cpu_s, in_namespace
from engine.broker.certs import ensure_pki
from engine.broker.mosquitto import Listener, Mosquitto
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.subscriber import BrokerSource
from streaming.broker.topics import Topics

PORT = 8883
TOPICS = Topics("bench")


def _phase(
    mq: Mosquitto,
    sources: list[BrokerSource],
    server: BrokerClient,
    frames: int,
    seconds: float,
    groups: list[str],
) -> dict[str, Any]:
    before = sum(s.counters.bundles for s in sources)
    publisher = BrokerPublisher(server, TOPICS, frames_per_bundle=frames)
    assert mq.pid is not None
    cpu0, start = cpu_s(mq.pid), time.monotonic()
    n = int(seconds * 50)
    for i in range(n):
        time.sleep(max(0.0, start + i * 0.02 - time.monotonic()))
        for g in groups:
            publisher.send(g, [os.urandom(100)], rtcp=False)
    publisher.close()
    expected = publisher.counters.bundles * len(sources) // len(groups)
    deadline = time.monotonic() + 10
    while sum(s.counters.bundles for s in sources) - before < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    cpu = cpu_s(mq.pid) - cpu0
    delivered = sum(s.counters.bundles for s in sources) - before
    return {
        "frames_per_bundle": frames,
        "unsent": publisher.counters.unsent,
        "published": publisher.counters.bundles,
        "delivered": delivered,
        "expected": expected,
        "deliveries_per_s": round(delivered / seconds),
        "broker_cpu_s": round(cpu, 2),
        "broker_us_per_delivery": round(cpu / max(1, delivered) * 1e6, 2),
        # the broker's share of one core for a province peak: 4,000 clusters x 50 frames/s
        "core_share_4000_clusters": round(cpu / max(1, delivered) * 4000 * 50 / frames, 2),
    }


def inside(clusters: int, n_groups: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        pki = ensure_pki(Path(tmp) / "pki")
        mq = Mosquitto(
            Path(tmp) / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, "127.0.0.1"), TOPICS
        )
        mq.add_server("_loa", "server")
        groups = [f"g{i}" for i in range(n_groups)]
        names = [f"c{i}" for i in range(clusters)]
        for i, name in enumerate(names):
            mq.add_cluster(name, "pw-" + name, (groups[i % n_groups],))
        mq.start()
        try:

            def settings(user: str, pw: str) -> Settings:
                return Settings("localhost", PORT, user, pw, pki.ca_cert, keepalive_s=60)

            server = BrokerClient(settings("_loa", "server"), lambda t, p: None)
            server.start()
            sources = [
                BrokerSource(settings(name, "pw-" + name), TOPICS, [groups[i % n_groups]], lambda *a: None)
                for i, name in enumerate(names)
            ]
            t0 = time.monotonic()
            for s in sources:
                s.start()
            for event in [server.connected, *(s.client.connected for s in sources)]:
                if not event.wait(60):
                    raise RuntimeError("clients did not connect")
            connect_s = time.monotonic() - t0
            # warm up until every source hears its group: the subscriptions are made on connect, but the
            # broker may not have all 300 SUBACKs out yet
            warm = BrokerPublisher(server, TOPICS, frames_per_bundle=1)
            deadline = time.monotonic() + 30
            while any(s.counters.bundles == 0 for s in sources) and time.monotonic() < deadline:
                for g in groups:
                    warm.send(g, [b"warm-up"], rtcp=False)
                time.sleep(0.1)
            time.sleep(0.5)
            result = {
                "clusters": clusters,
                "groups": n_groups,
                "seconds": seconds,
                "connect_all_s": round(connect_s, 2),
                "phases": [_phase(mq, sources, server, f, seconds, groups) for f in (5, 1)],
            }
            for s in sources:
                s.client.stop(1)
            server.stop()
            return result
        finally:
            mq.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(inside(args.clusters, args.groups, args.seconds), indent=1))
        return
    forward = ["--clusters", str(args.clusters), "--groups", str(args.groups), "--seconds", str(args.seconds)]
    sys.exit(in_namespace("bench.bench_broker", forward))


if __name__ == "__main__":
    main()
