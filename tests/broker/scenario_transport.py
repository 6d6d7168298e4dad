"""Inside a namespace: one PacedSender with [UdpTransport, BrokerTransport] streams a 1 s tone under SRTP;
a multicast capture and a BrokerSource (cluster c-a, group ga) record what reaches each. Prints JSON.

``python -m tests.broker.scenario_transport DIR``; judged in test_broker_transport.py.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

from streaming.broker.client import BrokerClient
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.subscriber import BrokerSource
from streaming.broker.transport import BrokerTransport
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.rtp import CLOCK_RATE
from streaming.srtp import MasterKey
from streaming.transport import UdpTransport
from tests.broker.scenario_broker import TOPICS, broker, connected, settings, wait
from tests.streaming.scenario_srtp import GROUP, Capture


def main(directory: Path) -> dict[str, object]:
    mq, ca = broker(directory)
    try:
        got: list[tuple[str, bytes, bool]] = []
        lock = threading.Lock()

        def ingress(group: str, data: bytes, rtcp: bool, arrival: float) -> None:
            with lock:
                got.append((group, data, rtcp))

        source = BrokerSource(settings(ca, "c-a"), TOPICS, ["ga"], ingress)
        server = BrokerClient(settings(ca, "_loa"), lambda topic, payload: None)
        source.start()
        server.start()
        assert connected(server) and connected(source.client)
        time.sleep(0.3)  # the subscription settles before the first bundle
        capture = Capture()
        publisher = BrokerPublisher(server, TOPICS)
        key = MasterKey.generate(2)
        t = np.arange(CLOCK_RATE) / CLOCK_RATE
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        with PacedSender(transports=[UdpTransport(), BrokerTransport(publisher)], sr_interval=0.5) as sender:
            stream = sender.open_stream([Destination(*GROUP, keys=lambda: [key])], groups=("ga",))
            stream.feed(tone)
            stream.finish()
            assert stream.wait(5)
            ssrc = stream.ssrc
        time.sleep(0.3)  # the capture thread reads the last datagrams (the final SR + BYE) too
        multicast = capture.of(ssrc)
        wait(lambda: len(got) >= len(multicast), 5.0)
        time.sleep(0.2)  # anything extra (a duplicate) would show
        multicast = capture.of(ssrc)
        capture.stop()
        source.stop()
        server.stop()
        return {
            "ssrc": ssrc,
            "multicast": [[offset == 1, d.hex()] for offset, d in multicast],
            "broker": [[rtcp, d.hex()] for g, d, rtcp in got if g == "ga"],
            "publisher": dict(vars(publisher.counters)),
            "source": dict(vars(source.counters)),
        }
    finally:
        mq.stop()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
