"""Inside a namespace: a LAN speaker on multicast and a 4G speaker that reaches only the broker play one
SRTP broadcast in sync. Prints JSON; the WAVs and sidecars go to DIR (judged in test_broker_e2e.py).

``python -m tests.broker.scenario_4g DIR SECONDS``. Mosquitto listens on the gateway 198.18.0.1; the 4G
speaker runs on a :class:`engine.netns.RemoteHost` (no multicast route: it hears no group), the LAN one
here, and a third ("both", here) hears the group on both paths, as a LAN speaker with a broker fallback
would. One PacedSender sends each SRTP datagram to the group and, bundled, to the broker. Both speakers
take the system clock as true (the namespaces share it): the skew is the paths' and the playout's alone.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

from engine.broker.certs import ensure_pki
from engine.broker.mosquitto import Listener, Mosquitto
from engine.netns import HOST_GATEWAY, RemoteHost
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.provision import BrokerProvision
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.transport import BrokerTransport
from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.srtp import MasterKey
from streaming.transport import UdpTransport
from tests.broker.scenario_broker import TOPICS, connected
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp import write_keys

GROUP = ("239.7.0.1", 5004)
PORT = 8883
DELAY_MS = 1500


def remote_speaker(host: RemoteHost, outdir: Path, name: str, args: list[str]) -> subprocess.Popen[str]:
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
    proc = subprocess.Popen(
        host.command([*argv, *args]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("{"):
        raise RuntimeError(f"speaker failed to start: {line} {proc.stderr.read() if proc.stderr else ''}")
    return proc


def main(outdir: Path, seconds: float) -> dict[str, object]:
    remote = RemoteHost(2)  # first: it makes the bridge that holds the gateway address Mosquitto binds
    pki = ensure_pki(outdir / "pki", ("localhost", HOST_GATEWAY))
    mq = Mosquitto(outdir / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, HOST_GATEWAY), TOPICS)
    mq.add_server("_loa", "server-secret")
    mq.add_cluster("c-4g", "cluster-secret", ("village",))
    mq.add_cluster("c-both", "both-secret", ("village",))  # its own account: a client id is one connection
    mq.start()
    try:
        key = MasterKey.generate(2, not_before=time.time() - 600)
        keys = outdir / "keys.json"
        write_keys(keys, [key], GROUP)
        provision = BrokerProvision(
            HOST_GATEWAY, PORT, "c-4g", "cluster-secret", pki.ca_cert, {"village": f"{GROUP[0]}:{GROUP[1]}"},
            prefix=TOPICS.prefix,
        )  # fmt: skip
        (outdir / "provision.json").write_text(provision.serialize())
        both = dataclasses.replace(provision, cluster="c-both", password="both-secret")
        (outdir / "both.json").write_text(both.serialize())
        group = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:{DELAY_MS}", "--keys", str(keys)]
        server = BrokerClient(
            Settings(HOST_GATEWAY, PORT, "_loa", "server-secret", pki.ca_cert), lambda t, p: None
        )
        server.start()
        assert connected(server)
        publisher = BrokerPublisher(server, TOPICS)
        lan = start_speakers(
            ["lan", "both"], outdir, group, {"both": ["--provision", str(outdir / "both.json")]}
        )
        far = remote_speaker(remote, outdir, "far", [*group, "--provision", str(outdir / "provision.json")])
        time.sleep(1.5)  # the 4G speaker's TLS connection and subscription
        with PacedSender(transports=[UdpTransport(), BrokerTransport(publisher)]) as sender:
            stream = sender.open_stream(
                [Destination(*GROUP, keys=lambda: [key])],
                codec=OpusSettings(complexity=5),
                groups=("village",),
            )
            audio = speech_like(seconds)
            step = 24_000
            for i in range(0, len(audio), step):  # half a second at a time, ahead of its media time
                stream.feed(audio[i : i + step])
                time.sleep(0.2)
            stream.finish()
            assert stream.wait(seconds + 5)
            time.sleep(DELAY_MS / 1000 + 0.5)  # the last frame plays 1.5 s after it was sent
            stop_speakers([*lan, far])
        server.stop()
        return {"ssrc": stream.ssrc, "publisher": dict(vars(publisher.counters))}
    finally:
        mq.stop()
        remote.close()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), float(sys.argv[2]))))
