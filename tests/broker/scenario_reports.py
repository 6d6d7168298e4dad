"""Inside a namespace: a broker-only speaker (``--no-multicast``, provisioned by one self-contained bundle
with its CA and keys) plays a labelled SRTP broadcast and its play report and status reach the server.

``python -m tests.broker.scenario_reports DIR SECONDS`` prints JSON (judged in test_play_reports.py).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.broker.certs import ensure_pki
from engine.broker.inbox import Inbox
from engine.broker.mosquitto import Listener, Mosquitto
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.messages import PlayReport, Status
from streaming.broker.provision import BrokerProvision
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.transport import BrokerTransport
from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.provisioning import dump_provisioning
from streaming.srtp import MasterKey
from tests.broker.scenario_broker import TOPICS, connected, wait
from tests.streaming.harness import speech_like, start_speakers, stop_speakers

GROUP = ("239.7.0.1", 5004)
PORT = 8883


def main(outdir: Path, seconds: float) -> dict[str, Any]:
    pki = ensure_pki(outdir / "pki")
    mq = Mosquitto(outdir / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, "127.0.0.1"), TOPICS)
    mq.add_server("_loa", "server-secret")
    mq.add_cluster("c-far", "far-secret", ("village",))
    mq.start()
    try:
        key = MasterKey.generate(2, not_before=time.time() - 600)
        bundle = BrokerProvision(
            "localhost", PORT, "c-far", "far-secret", ca=None,
            groups={"village": f"{GROUP[0]}:{GROUP[1]}:normal:1000"}, prefix=TOPICS.prefix,
            ca_pem=pki.ca_cert.read_text(), keys=json.loads(dump_provisioning({"village": [key]})),
        )  # fmt: skip
        (outdir / "bundle.json").write_text(bundle.serialize())
        reports: list[tuple[str, PlayReport]] = []
        statuses: list[tuple[str, Status]] = []
        inbox = Inbox(TOPICS, _NoReplies(), on_report=lambda c, r: reports.append((c, r)),
                      on_status=lambda c, s: statuses.append((c, s)))  # fmt: skip
        server = BrokerClient(Settings("localhost", PORT, "_loa", "server-secret", pki.ca_cert), inbox.handle)
        for f in inbox.filters():
            server.subscribe(f, 1)
        server.start()
        assert connected(server)
        args = ["--provision", str(outdir / "bundle.json"), "--no-multicast", "--network", "4g"]
        far = start_speakers(["far"], outdir, args)
        assert wait(lambda: any(s.state.value == "online" for _, s in statuses), 5.0)
        time.sleep(0.5)
        with PacedSender(transports=[BrokerTransport(BrokerPublisher(server, TOPICS))]) as sender:
            stream = sender.open_stream(
                [Destination(*GROUP, keys=lambda: [key])], codec=OpusSettings(complexity=5),
                groups=("village",), label="b-42/1",
            )  # fmt: skip
            audio = speech_like(seconds)
            for i in range(0, len(audio), 24_000):
                stream.feed(audio[i : i + 24_000])
                time.sleep(0.2)
            stream.finish()
            assert stream.wait(seconds + 5)
            wait(lambda: bool(reports), 6.0)  # played out (1 s), then forgotten after 2 s of silence: END
        stop_speakers(far)
        time.sleep(0.5)
        server.stop()
        return {
            "ssrc": stream.ssrc,
            "frames_sent": stream.frames_sent,
            "reports": [(c, json.loads(r.serialize())) for c, r in reports],
            "statuses": [(c, json.loads(s.serialize())) for c, s in statuses],
        }
    finally:
        mq.stop()


class _NoReplies:
    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        return False


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), float(sys.argv[2]))))
