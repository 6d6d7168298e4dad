"""The speaker agent's cost while it plays one stream: CPU (% of one core) and RSS, on each path, against
ffmpeg receiving the same audio in the same run.

``python -m bench.bench_speaker [--seconds S]`` re-runs itself inside a private network namespace, starts
the embedded Mosquitto, and airs two streams of the same speech-like audio at once from one PacedSender:
an SRTP one to a group that also goes to the broker, and a plain-RTP copy to a second group. Measured
from /proc over the middle of the stream (start-up and the tail left out), each a separate process:

- ``lan-srtp``: ``loa speaker`` on the SRTP group by multicast (what a commune LAN speaker runs);
- ``4g-srtp``: ``loa speaker --provision … --no-multicast --broker-time`` on a host that hears no multicast
  (what a 4G cluster runs: TLS, MQTT, bundles, time over the broker);
- ``lan-plain``: ``loa speaker`` on the plain group;
- ``ffmpeg``: ``ffmpeg -i group.sdp -f null -`` on the plain group (decode only, no playout clock): the peer.

Every agent plays to the null sink (``--sink null``), so the figure is the agent, not a sound card.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.fleet_rig import cpu_s, in_namespace, rss_bytes
from engine.broker.certs import ensure_pki
from engine.broker.mosquitto import Listener, Mosquitto
from engine.netns import HOST_GATEWAY, RemoteHost
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.provision import BrokerProvision
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.topics import Topics
from streaming.broker.transport import BrokerTransport
from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.provisioning import dump_provisioning
from streaming.srtp import MasterKey
from streaming.transport import UdpTransport

PORT = 8883
TOPICS = Topics("bench")
SRTP_GROUP = ("239.8.0.1", 5004)
PLAIN_GROUP = ("239.8.0.2", 5004)
DELAY_MS = 1500
SKIP_S = 4.0  # left out at the start: TLS, joins, time sync, the first playout delay


def _audio(seconds: float) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 48_000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    return (0.2 * voiced * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2).astype(np.float32)


def _agent(name: str, args: list[str], host: RemoteHost | None = None) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "streaming", "speaker", "--name", name, "--sink", "null", *args]
    proc = subprocess.Popen(
        host.command(argv) if host else argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    if not proc.stdout.readline().startswith("{"):
        raise RuntimeError(f"{name} failed to start: {proc.stderr.read() if proc.stderr else ''}")
    return proc


def inside(seconds: float) -> dict[str, Any]:
    host = RemoteHost(2)
    work = Path(tempfile.mkdtemp(prefix="loa-bench-speaker-"))
    pki = ensure_pki(work / "pki", ("localhost", HOST_GATEWAY))
    mq = Mosquitto(work / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, HOST_GATEWAY), TOPICS)
    mq.add_server("_loa", "server-secret")
    mq.add_cluster("c-4g", "cluster-secret", ("village",))
    mq.start()
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        key = MasterKey.generate(2, not_before=time.time() - 600)
        address = f"{SRTP_GROUP[0]}:{SRTP_GROUP[1]}"
        keys = json.loads(dump_provisioning({"village": [key]}, {"village": address}))
        bundle = BrokerProvision(
            HOST_GATEWAY, PORT, "c-4g", "cluster-secret", None, {"village": f"{address}:normal:{DELAY_MS}"},
            prefix=TOPICS.prefix, ca_pem=pki.ca_cert.read_text(), keys=keys,
        )  # fmt: skip
        (work / "bundle.json").write_text(bundle.serialize())
        (work / "keys.json").write_text(json.dumps(keys))
        plain = f"{PLAIN_GROUP[0]}:{PLAIN_GROUP[1]}"
        sdp = subprocess.run(
            [sys.executable, "-m", "streaming", "sdp", plain, "--no-fec"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (work / "plain.sdp").write_text(sdp)
        procs["lan-srtp"] = _agent(
            "lan-srtp", ["--group", f"{address}:normal:{DELAY_MS}", "--keys", str(work / "keys.json")]
        )
        procs["4g-srtp"] = _agent(
            "4g-srtp", ["--provision", str(work / "bundle.json"), "--no-multicast", "--broker-time"], host
        )
        procs["lan-plain"] = _agent("lan-plain", ["--group", f"{plain}:normal:{DELAY_MS}"])
        procs["ffmpeg"] = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp",
             "-i", str(work / "plain.sdp"), "-f", "null", "-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        server = BrokerClient(
            Settings(HOST_GATEWAY, PORT, "_loa", "server-secret", pki.ca_cert), lambda t, p: None
        )
        server.start()
        if not server.connected.wait(10):
            raise RuntimeError("the server's broker connection did not come up")
        time.sleep(2.0)  # TLS, subscriptions, the 4G agent's first time exchanges
        publisher = BrokerPublisher(server, TOPICS)
        with PacedSender(transports=[UdpTransport(), BrokerTransport(publisher)]) as sender:
            codec = OpusSettings(fec=False)
            streams = [
                sender.open_stream(
                    [Destination(*SRTP_GROUP, keys=lambda: [key])], codec=codec, groups=("village",)
                ),
                sender.open_stream([Destination(*PLAIN_GROUP)], codec=codec),
            ]
            audio = _audio(seconds)
            for stream in streams:
                stream.feed(audio)
                stream.finish()
            start = streams[0].start_time or time.time()
            time.sleep(max(0.0, start + SKIP_S - time.time()))
            before = {n: (cpu_s(p.pid), time.monotonic()) for n, p in procs.items()}
            time.sleep(max(1.0, seconds - SKIP_S - 1.0))
            result: dict[str, Any] = {}
            for name, proc in procs.items():
                cpu0, t0 = before[name]
                share = (cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0)
                result[name] = {
                    "cpu_percent_of_one_core": round(100 * share, 2),
                    "rss_mib": rss_bytes(proc.pid) / 2**20,
                }
            for stream in streams:
                stream.wait(10)
        server.stop()
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(15)
        peer = result["ffmpeg"]
        for name in ("lan-srtp", "4g-srtp", "lan-plain"):
            r = result[name]
            r["cpu_vs_ffmpeg"] = round(
                r["cpu_percent_of_one_core"] / max(peer["cpu_percent_of_one_core"], 1e-9), 2
            )
            r["rss_vs_ffmpeg"] = round(r["rss_mib"] / max(peer["rss_mib"], 1e-9), 2)
        return {"seconds_measured": round(seconds - SKIP_S - 1.0, 1), "processes": result}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        mq.stop()
        host.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the streams (default 30)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        out = inside(args.seconds)
        print(json.dumps(out, indent=1))
        print(f"{'process':<10} {'CPU % of a core':>15} {'RSS MiB':>8} {'CPU/ffmpeg':>10} {'RSS/ffmpeg':>10}")
        for name, r in out["processes"].items():
            print(
                f"{name:<10} {r['cpu_percent_of_one_core']:>15.2f} {r['rss_mib']:>8.1f}"
                f" {r.get('cpu_vs_ffmpeg', 1.0):>10.2f} {r.get('rss_vs_ffmpeg', 1.0):>10.2f}"
            )
        return
    if math.isnan(args.seconds) or args.seconds < SKIP_S + 3:
        parser.error(f"--seconds must be at least {SKIP_S + 3}")
    sys.exit(in_namespace("bench.bench_speaker", ["--seconds", str(args.seconds)]))


if __name__ == "__main__":
    main()
