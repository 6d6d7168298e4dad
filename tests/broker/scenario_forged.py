"""A compromised broker: someone who can publish on a group's media topic tries to make a 4G cluster speak.

``python -m tests.broker.scenario_forged DIR`` (inside a namespace; judged in test_forged.py). The
attacker holds a server account of the broker (what a break-in into the broker gives). It publishes, on
the group's media topic, a plain-RTP stream and an SRTP stream under a key of its own that claims the
group's key id; then the genuine server airs a broadcast, which the attacker records through a stolen
cluster account of the group; then it replays every recorded message. The 4G speaker holds the group's
key. Prints JSON.
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
from streaming.broker.provision import BrokerProvision
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.transport import BrokerTransport
from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.srtp import MasterKey
from tests.broker.scenario_4g import DELAY_MS, GROUP, PORT, remote_speaker
from tests.broker.scenario_broker import TOPICS, Inbound, connected
from tests.streaming.harness import speech_like, stop_speakers
from tests.streaming.scenario_srtp import write_keys

SECONDS = 3.0


def _air(client: BrokerClient, keys: list[MasterKey] | None, seed: int) -> int:
    """One stream of SECONDS through ``client`` to the group's topic; returns its SSRC."""
    publisher = BrokerPublisher(client, TOPICS)
    with PacedSender(transports=[BrokerTransport(publisher)]) as sender:
        destination = Destination(*GROUP, keys=(lambda: keys) if keys else None)
        stream = sender.open_stream([destination], codec=OpusSettings(complexity=5), groups=("village",))
        stream.feed(speech_like(SECONDS, seed))
        stream.finish()
        assert stream.wait(SECONDS + 5)
    return stream.ssrc


def main(outdir: Path) -> dict[str, Any]:
    host = RemoteHost(2)
    pki = ensure_pki(outdir / "pki", ("localhost", HOST_GATEWAY))
    mq = Mosquitto(outdir / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, HOST_GATEWAY), TOPICS)
    for name in ("_loa", "_evil"):
        mq.add_server(name, f"{name}-secret")
    mq.add_cluster("c-far", "far-secret", ("village",))
    mq.add_cluster("c-spy", "spy-secret", ("village",))  # a stolen cluster's credentials: it hears the group
    mq.start()
    try:
        key = MasterKey.generate(2, not_before=time.time() - 600)
        keys = outdir / "keys.json"
        write_keys(keys, [key], GROUP)
        provision = BrokerProvision(
            HOST_GATEWAY, PORT, "c-far", "far-secret", pki.ca_cert, {"village": f"{GROUP[0]}:{GROUP[1]}"},
            prefix=TOPICS.prefix,
        )  # fmt: skip
        (outdir / "far.json").write_text(provision.serialize())
        group = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:{DELAY_MS}", "--keys", str(keys)]
        far = remote_speaker(host, outdir, "far", [*group, "--provision", str(outdir / "far.json")])

        def client(name: str) -> BrokerClient:
            settings = Settings(HOST_GATEWAY, PORT, name, f"{name}-secret", pki.ca_cert)
            c = BrokerClient(settings, lambda t, p: None)
            c.start()
            assert connected(c)
            return c

        server, evil = client("_loa"), client("_evil")
        watch = Inbound(
            Settings(HOST_GATEWAY, PORT, "c-spy", "spy-secret", pki.ca_cert), [TOPICS.media("village")]
        )
        time.sleep(1.5)  # the speaker's TLS connection and subscription
        forged = {
            "plain": _air(evil, None, 1),
            "own_key": _air(evil, [MasterKey.generate(2, not_before=time.time() - 600)], 2),
        }
        time.sleep(DELAY_MS / 1000 + 2.5)  # the forgeries' streams time out at the speaker
        genuine = _air(server, [key], 0)
        time.sleep(DELAY_MS / 1000 + 2.5)
        recorded = [(topic, payload) for topic, payload, _ in watch.got]
        for topic, payload in recorded:  # the replay, at the pace it was recorded
            evil.publish(topic, payload, 0, False)
            time.sleep(0.1)
        time.sleep(DELAY_MS / 1000 + 1.0)
        stop_speakers([far])
        for c in (server, evil, watch.client):
            c.stop()
        return {"genuine": genuine, "forged": forged, "replayed_messages": len(recorded)}
    finally:
        mq.stop()
        host.close()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
