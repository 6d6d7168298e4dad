"""A province in a box: 4,000 clusters in 100 communes on one embedded Mosquitto, all communes on air at
once, then a province-wide emergency preempting them, then a broker restart (issue #11).

``python -m bench.bench_province [--clusters 4000] [--groups 100] [--seconds 20] [--emergency-seconds 10]``
re-runs itself inside a private network namespace (nothing leaves the machine) and:

1. starts the embedded Mosquitto over TLS with the server account and one account per cluster (cluster
   i is in commune i mod groups, and every cluster is in the province group);
2. connects the fleet (bench/fleet.py: ``--procs`` processes, one epoll loop each, one TLS connection and
   account per cluster; they parse each bundle and check every frame against its playout time, 1.5 s);
3. the server side is Loa's: one ``PacedSender`` whose only transport is a ``BrokerTransport`` over a
   ``BrokerPublisher`` and a ``BrokerClient``; each commune's bulletin is a stream opened with
   ``open_stream`` (what CreateBroadcast leads to), SRTP-protected under its group's key, fed Opus encoded
   beforehand (synthesis is not in the figures), ``--seconds`` + 10 s long so the emergency cuts it;
4. after ``--seconds`` an EMERGENCY stream opens on the province group and the commune streams are
   aborted (the server's preemption), for ``--emergency-seconds``;
5. the broker is restarted and the time until every cluster is connected and subscribed again is taken.

Prints JSON (``--out`` also writes it) and a summary. CPU and RSS are read from /proc for the Mosquitto
process, this process (the server side: pacer, SRTP, publisher, paho; it otherwise only waits) and each
fleet process. Figures and their reading: bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench import fleet
from bench.fleet_rig import broker, cpu_s, in_namespace, raise_fd_limit, rss_bytes
from streaming import rtcp
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.topics import Topics
from streaming.broker.transport import BrokerTransport
from streaming.clock import wall_from_ntp
from streaming.opus import OpusSettings, encode_pcm
from streaming.pacer import PacedSender
from streaming.packetizer import Destination, Stream
from streaming.priority import Priority
from streaming.srtp import MasterKey

PORT = 8883
TOPICS = Topics("province")
PROVINCE = "province"
DELAY_S = 1.5
PASSWORD = "bench-password"


@dataclass
class Workers:
    conns: list[Connection]
    procs: list[Any]

    def ask(self, *request: Any) -> list[Any]:
        for c in self.conns:
            c.send(request)
        return [c.recv() for c in self.conns]

    def tell(self, *request: Any) -> None:
        for c in self.conns:
            c.send(request)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]


class Meter:
    """CPU seconds and peak RSS of named processes between ``start`` and ``stop``; ``sleep`` samples."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self.cpu0 = self._cpu()
        self.t0 = time.monotonic()
        self.peak = {name: 0 for name in pids}

    def _cpu(self) -> dict[str, float]:
        return {name: sum(cpu_s(p) for p in ps) for name, ps in self.pids.items()}

    def sample(self) -> None:
        for name, ps in self.pids.items():
            self.peak[name] = max(self.peak[name], sum(rss_bytes(p) for p in ps))

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.sample()
            time.sleep(min(0.5, left))

    def result(self) -> dict[str, Any]:
        self.sample()
        wall = time.monotonic() - self.t0
        cpu = self._cpu()
        return {
            "wall_s": round(wall, 2),
            **{
                name: {
                    "cpu_s": round(cpu[name] - self.cpu0[name], 2),
                    "cpu_pct": round(100 * (cpu[name] - self.cpu0[name]) / wall, 1),
                    "rss_mib": round(self.peak[name] / 2**20, 1),
                }
                for name in self.pids
            },
        }


def mapping(stream: Stream) -> tuple[float, int]:
    """(wall time, RTP timestamp) of one instant of the stream, from its own (plain) sender report."""
    report = rtcp.parse_compound(stream.sender_report(time.time(), bye=False))[0]
    assert isinstance(report, rtcp.SenderReport)
    return wall_from_ntp(report.ntp_timestamp), report.rtp_timestamp


def wait_ready(workers: Workers, total: int, since: float, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        status = workers.ask("status", since)
        if sum(len(s["ready_since"]) for s in status) >= total or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def merged(status: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in status:
        for k, v in s[key].items():
            out[k] = out.get(k, 0) + v
    return out


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def slack_percentiles(hist: list[int]) -> dict[str, float]:
    """Playout time minus arrival, from the fleet's 10 ms histogram (lower bin edges)."""
    total, out, seen = sum(hist), {}, 0
    wanted = [("p0.1", 0.001), ("p1", 0.01), ("p50", 0.5), ("p99", 0.99)]
    for i, n in enumerate(hist):
        seen += n
        for name, q in wanted:
            if name not in out and total and seen >= q * total:
                out[name] = round(fleet.HIST_LOW + i * fleet.HIST_STEP, 2)
    return out


def inside(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    communes = [f"x{i}" for i in range(args.groups)]
    plan: dict[str, tuple[str, ...]] = {
        f"c{i}": (communes[i % args.groups], PROVINCE) for i in range(args.clusters)
    }
    members = {g: sum(1 for gs in plan.values() if gs[0] == g) for g in communes} | {PROVINCE: len(plan)}
    codec = OpusSettings()
    from tests.streaming.harness import speech_like  # the test suite's speech stand-in

    bulletin = encode_pcm(speech_like(args.seconds + 10, seed=1), codec)
    alert = encode_pcm(speech_like(args.emergency_seconds, seed=2), codec)
    now = time.time()
    keys = {g: MasterKey.generate(1 + i, not_before=now - 600) for i, g in enumerate([*communes, PROVINCE])}
    dests = {
        g: Destination(f"239.1.{i // 250}.{1 + i % 250}", 5004, keys=functools.partial(list, [keys[g]]))
        for i, g in enumerate([*communes, PROVINCE])
    }
    result: dict[str, Any] = {"clusters": args.clusters, "groups": args.groups, "procs": args.procs}
    with tempfile.TemporaryDirectory() as tmp:
        mq, pki = broker(Path(tmp), PORT, TOPICS, plan, PASSWORD)
        mq.start()
        assert mq.pid is not None
        broker_idle_rss = rss_bytes(mq.pid)
        ctx = multiprocessing.get_context("spawn")
        names = list(plan)
        workers = Workers([], [])
        for w in range(args.procs):
            mine = names[w :: args.procs]
            config = fleet.FleetConfig(
                "127.0.0.1",
                PORT,
                str(pki.ca_cert),
                PASSWORD,
                TOPICS.prefix,
                [(n, plan[n]) for n in mine],
                DELAY_S,
                seed=w,
            )
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=fleet.run, args=(child, config), daemon=True)
            proc.start()
            child.close()  # the worker's end: if the worker dies, our recv() then fails instead of waiting
            workers.conns.append(parent)
            workers.procs.append(proc)
        try:
            result |= run_phases(args, mq, pki, workers, plan, members, communes, dests, bulletin, alert)
            result["broker_rss_idle_mib"] = round(broker_idle_rss / 2**20, 1)
        finally:
            with contextlib.suppress(OSError, EOFError):
                workers.ask("stop")
            for p in workers.procs:
                p.join(5)
                if p.is_alive():
                    p.kill()
            mq.stop()
    return result


def run_phases(
    args: argparse.Namespace,
    mq: Any,
    pki: Any,
    workers: Workers,
    plan: dict[str, tuple[str, ...]],
    members: dict[str, int],
    communes: list[str],
    dests: dict[str, Destination],
    bulletin: list[bytes],
    alert: list[bytes],
) -> dict[str, Any]:
    n = len(plan)
    out: dict[str, Any] = {}
    t0 = time.time()
    status = wait_ready(workers, n, t0, args.connect_timeout)
    ready = sum(len(s["ready_since"]) for s in status)
    out["connect"] = {
        "ready": ready,
        "all_s": round(max((t for s in status for t in s["ready_since"]), default=0.0), 2),
        "broker_rss_mib": round(rss_bytes(mq.pid) / 2**20, 1),
        "counters": merged(status, "counters"),
    }
    if ready < n:
        out["connect"]["reasons"] = merged(status, "reasons")
        raise SystemExit(json.dumps(out, indent=1))

    server = BrokerClient(
        Settings("localhost", PORT, "_loa", PASSWORD, pki.ca_cert, keepalive_s=60), lambda *a: None
    )
    server.start()
    if not server.connected.wait(30):
        raise RuntimeError("the server account did not connect")
    publisher = BrokerPublisher(server, TOPICS)
    sender = PacedSender(transports=[BrokerTransport(publisher)]).start()
    pids = {"broker": [mq.pid], "server": [os.getpid()], "fleet": workers.pids()}

    def bundles() -> int:
        return sum(s["counters"]["bundles"] for s in workers.ask("status", 0.0))

    # --- every commune on air at once
    b0, meter = bundles(), Meter(pids)
    opened: dict[int, tuple[str, float, Stream]] = {}
    t_open = time.time()
    for g in communes:
        t = time.time()
        stream = sender.open_stream([dests[g]], OpusSettings(), Priority.NORMAL, groups=(g,))
        stream.feed_encoded(bulletin)
        opened[stream.ssrc] = (g, t, stream)
        workers.tell("map", stream.ssrc, *mapping(stream), "commune")
    out["open_all_s"] = round(time.time() - t_open, 3)
    meter.sleep(args.seconds)
    out["communes"] = meter.result() | {"bundles_delivered": bundles() - b0}

    # --- the province's emergency preempts them
    b0, meter = bundles(), Meter(pids)
    t_emergency = time.time()
    alarm = sender.open_stream([dests[PROVINCE]], OpusSettings(), Priority.EMERGENCY, groups=(PROVINCE,))
    alarm.feed_encoded(alert)
    workers.tell("map", alarm.ssrc, *mapping(alarm), "emergency")
    for _, _, stream in opened.values():
        stream.abort()
    opened[alarm.ssrc] = (PROVINCE, t_emergency, alarm)
    alarm.finish()
    meter.sleep(args.emergency_seconds)
    alarm.wait(10)
    meter.sleep(DELAY_S + 0.5)  # the last bundles on their way
    out["emergency"] = meter.result() | {"bundles_delivered": bundles() - b0}
    sender.close()
    out["publisher"] = {"bundles": publisher.counters.bundles, "unsent": publisher.counters.unsent}
    out["pacer"] = {"packets": sender.packets_sent, "send_errors": sender.send_errors}
    out["frames"] = frame_report(workers, opened, members)

    # --- the broker restarts: every cluster reconnects with its jittered backoff
    server.stop()
    meter = Meter({"fleet": workers.pids()})
    t_stop = time.time()
    mq.stop()
    mq.start()
    up_s = time.time() - t_stop
    meter.pids["broker"] = [mq.pid]
    meter.cpu0["broker"], meter.peak["broker"] = cpu_s(mq.pid), 0
    status = wait_ready(workers, n, t_stop, args.storm_timeout)
    back = sorted(t for s in status for t in s["ready_since"])
    out["storm"] = {
        "broker_down_to_up_s": round(up_s, 2),
        "reconnected": len(back),
        "all_s": round(back[-1], 2) if back else None,
        "p50_s": percentile(back, 0.5),
        "p90_s": percentile(back, 0.9),
        "counters": merged(status, "counters"),
        "reasons": merged(status, "reasons"),
        "cpu": meter.result(),
    }
    for key in ("p50_s", "p90_s"):
        if out["storm"][key] is not None:
            out["storm"][key] = round(out["storm"][key], 2)
    return out


def frame_report(
    workers: Workers, opened: dict[int, tuple[str, float, Stream]], members: dict[str, int]
) -> dict[str, Any]:
    stats = workers.ask("stats")
    out: dict[str, Any] = {}
    for label in ("commune", "emergency"):
        frames = sum(s["labels"].get(label, {}).get("frames", 0) for s in stats)
        late = sum(s["labels"].get(label, {}).get("late", 0) for s in stats)
        hist = [
            sum(x)
            for x in zip(*(s["labels"][label]["hist"] for s in stats if label in s["labels"]), strict=True)
        ]
        chosen = {ssrc: v for ssrc, v in opened.items() if (v[0] == PROVINCE) == (label == "emergency")}
        expected = sum(v[2].frames_sent * members[v[0]] for v in chosen.values())
        firsts = []
        for ssrc, (group, t_open, _) in chosen.items():
            got = [s["first_arrival"][ssrc] for s in stats if ssrc in s["first_arrival"]]
            heard = sum(g[0] for g in got)
            firsts.append((heard, members[group], max((g[1] for g in got), default=float("nan")) - t_open))
        all_heard = all(h == m for h, m, _ in firsts)
        out[label] = {
            "streams": len(chosen),
            "frames_expected": expected,
            "frames_received": frames,
            "frames_late": late,
            "on_time_pct": round(100 * (frames - late) / expected, 4) if expected else None,
            "slack_s": slack_percentiles(hist) if hist else {},
            "every_cluster_heard_first_frame": all_heard,
            "open_to_first_frame_at_last_cluster_s": {
                "max": round(max(f[2] for f in firsts), 3),
                "median": round(sorted(f[2] for f in firsts)[len(firsts) // 2], 3),
            },
        }
    out["malformed"] = sum(s["counters"]["malformed"] for s in stats)
    out["unexpected"] = sum(s["counters"]["unexpected"] for s in stats)
    out["unmapped"] = sum(s["unmapped"] for s in stats)
    return out


def summary(r: dict[str, Any]) -> str:
    lines = [
        f"province in a box: {r['clusters']} clusters, {r['groups']} communes, {r['procs']} fleet processes"
    ]
    c = r["connect"]
    lines.append(
        f"connect: {c['ready']} subscribed in {c['all_s']} s; "
        f"broker RSS {r['broker_rss_idle_mib']} -> {c['broker_rss_mib']} MiB"
    )
    for label in ("commune", "emergency"):
        f = r["frames"][label]
        o = f["open_to_first_frame_at_last_cluster_s"]
        lines.append(
            f"{label}: {f['frames_received']}/{f['frames_expected']} frames, {f['frames_late']} late, "
            f"on time {f['on_time_pct']}% (slack {f['slack_s']}); open -> first frame at the last cluster "
            f"max {o['max']} s, median {o['median']} s"
        )
    for phase in ("communes", "emergency"):
        p = r[phase]
        lines.append(
            f"{phase} phase {p['wall_s']} s: "
            + ", ".join(
                f"{k} {p[k]['cpu_pct']}% CPU {p[k]['rss_mib']} MiB" for k in ("server", "broker", "fleet")
            )
            + f"; {p['bundles_delivered'] / p['wall_s']:.0f} deliveries/s"
        )
    s = r["storm"]
    lines.append(
        f"broker restart: down->up {s['broker_down_to_up_s']} s; {s['reconnected']}/{r['clusters']} back, "
        f"all by {s['all_s']} s (p50 {s['p50_s']}, p90 {s['p90_s']})"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=4000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20, help="communes on air before the emergency")
    parser.add_argument("--emergency-seconds", type=float, default=10)
    parser.add_argument("--procs", type=int, default=2, help="fleet processes")
    parser.add_argument("--connect-timeout", type=float, default=180)
    parser.add_argument("--storm-timeout", type=float, default=180)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inside:
        forward = [
            f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k != "inside" and v is not None
        ]
        raise SystemExit(in_namespace("bench.bench_province", forward))
    result = inside(args)
    text = json.dumps(result, indent=1)
    print(text)
    print(summary(result))
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
