"""Faults on the 4G path while a broadcast is on air. Prints JSON; WAVs and sidecars go to DIR (judged in
test_faults.py).

``python -m tests.broker.scenario_faults DIR CASE``, CASE one of

- ``link``: each 4G speaker reaches the broker through its own user-space TCP relay (tests/tcp_relay.py;
  this kernel has no netem). Three seconds into the stream one relay is cut for 10 s (connections reset,
  new ones refused: the cluster must reconnect) and the other stalls for 3 s (bytes queue and then come
  in a burst, most of them past their playout time);
- ``restart``: the broker itself is stopped and started again mid-broadcast.

A LAN speaker on multicast plays the same broadcast as the reference. The scenario notes the wall times of
the faults, and a watcher account records the clusters' retained status messages as they change.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.broker.certs import ensure_pki
from engine.broker.mosquitto import Listener, Mosquitto
from engine.netns import HOST_GATEWAY, RemoteHost
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.messages import Status
from streaming.broker.provision import BrokerProvision
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.topics import Kind
from streaming.broker.transport import BrokerTransport
from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.srtp import MasterKey
from streaming.transport import UdpTransport
from tests.broker.scenario_4g import DELAY_MS, GROUP, PORT, remote_speaker
from tests.broker.scenario_broker import TOPICS, Inbound, connected
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp import write_keys
from tests.tcp_relay import TcpRelay

SECONDS = {"link": 24.0, "restart": 12.0}
FAULT_AT = 3.0  # seconds of media time into the stream
OUTAGE_S = 10.0
STALL_S = 3.0
DOWN_S = 1.0  # the broker restart
BULLETIN = "b-faults"


def _until(wall: float) -> None:
    time.sleep(max(0.0, wall - time.time()))


def main(outdir: Path, case: str) -> dict[str, Any]:
    hosts = [RemoteHost(2 + i) for i in range(2 if case == "link" else 1)]
    pki = ensure_pki(outdir / "pki", ("localhost", HOST_GATEWAY))
    mq = Mosquitto(outdir / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, HOST_GATEWAY), TOPICS)
    mq.add_server("_loa", "server-secret")
    mq.add_server("_watch", "watch-secret")
    names = ["cut", "stall"] if case == "link" else ["far"]
    for name in names:
        mq.add_cluster(f"c-{name}", f"{name}-secret", ("village",))
    mq.start()
    relays: dict[str, TcpRelay] = {}
    speakers = []
    result: dict[str, Any] = {"events": {}}
    try:
        key = MasterKey.generate(2, not_before=time.time() - 600)
        keys = outdir / "keys.json"
        write_keys(keys, [key], GROUP)
        group = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:{DELAY_MS}", "--keys", str(keys)]

        def fast(user: str, password: str) -> Settings:  # the server's own link recovers quickly
            ca = pki.ca_cert
            return Settings(HOST_GATEWAY, PORT, user, password, ca, backoff_min_s=0.2, backoff_max_s=1.0)

        server = BrokerClient(fast("_loa", "server-secret"), lambda t, p: None)
        server.start()
        assert connected(server)
        statuses: list[tuple[str, str, float]] = []

        def on_status(topic: str, payload: bytes) -> None:
            statuses.append((TOPICS.parse(topic).id, Status.parse(payload).state.value, time.time()))

        watch = Inbound(
            fast("_watch", "watch-secret"),
            [TOPICS.all_clusters(Kind.STATUS)],
            on_status,
        )
        for i, (name, host) in enumerate(zip(names, hosts, strict=True)):
            port = PORT
            if case == "link":
                relays[name] = TcpRelay((HOST_GATEWAY, 18831 + i), (HOST_GATEWAY, PORT)).start()
                port = relays[name].address[1]
            provision = BrokerProvision(
                HOST_GATEWAY, port, f"c-{name}", f"{name}-secret", pki.ca_cert,
                {"village": f"{GROUP[0]}:{GROUP[1]}"}, prefix=TOPICS.prefix,
            )  # fmt: skip
            (outdir / f"{name}.json").write_text(provision.serialize())
            speakers.append(
                remote_speaker(host, outdir, name, [*group, "--provision", str(outdir / f"{name}.json")])
            )
        speakers += start_speakers(["lan"], outdir, group)
        time.sleep(1.5)  # the 4G speakers' TLS connections and subscriptions
        publisher = BrokerPublisher(server, TOPICS)
        with PacedSender(transports=[UdpTransport(), BrokerTransport(publisher)]) as sender:
            seconds = SECONDS[case]
            stream = sender.open_stream(
                [Destination(*GROUP, keys=lambda: [key])],
                codec=OpusSettings(complexity=5),
                groups=("village",),
                label=f"{BULLETIN}/0",
            )
            stream.feed(speech_like(seconds))  # encoded now, sent by the pacer at each frame's time
            stream.finish()
            assert stream.start_time is not None
            fault = stream.start_time + FAULT_AT
            _until(fault)
            events = result["events"]
            if case == "link":
                relays["cut"].cut()
                relays["stall"].stall()
                events["fault"] = time.time()
                _until(fault + STALL_S)
                relays["stall"].restore()
                events["stall_end"] = time.time()
                _until(fault + OUTAGE_S)
                relays["cut"].restore()
                events["outage_end"] = time.time()
            else:
                mq.stop()
                events["fault"] = time.time()
                time.sleep(DOWN_S)
                mq.start()
                events["restarted"] = time.time()
            assert stream.wait(seconds + 15)
            # the last frame plays 1.5 s after it was sent; the stream's end comes in the next bundle,
            # which a loaded machine (tests run three at a time) has delayed by over 0.5 s
            time.sleep(DELAY_MS / 1000 + 1.5)
            stop_speakers(speakers)
            speakers = []
        watch.client.stop()
        server.stop()
        result.update(
            ssrc=stream.ssrc,
            publisher=dict(vars(publisher.counters)),
            statuses=statuses,
            relay_accepts={n: r.accepted for n, r in relays.items()},
        )
        return result
    finally:
        if speakers:
            stop_speakers(speakers)
        for relay in relays.values():
            relay.close()
        mq.stop()
        for host in hosts:
            host.close()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2])))
