"""Inside a namespace: a 4G speaker gets a bulletin delivered ahead through the real Mosquitto, loses its
link before the start, and plays it from its cache in sync with a LAN speaker hearing it live. A second
item, cancelled before the start, is not played. Prints JSON; WAVs and sidecars go to DIR (judged in
test_ahead_e2e.py).

``python -m tests.broker.scenario_ahead DIR SECONDS``. The 4G speaker (on a RemoteHost: no multicast)
reaches Mosquitto only through a :class:`tests.tcp_relay.TcpRelay`, which the scenario cuts. The server
renders the bulletin (streaming/ahead.py) and publishes one retained item per group; at the start, it
opens the live stream with the same SSRC, sequence, RTP time and start, fed the same Opus frames, to
the multicast group. Both speakers take the system clock as true (the namespaces share it).

Also checked here with the real broker: a cluster of another group does not receive the item, and a
cluster's own publish on its group's ahead topic reaches nobody (only servers write there).
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

from engine.broker.certs import ensure_pki
from engine.broker.mosquitto import Listener, Mosquitto
from engine.netns import HOST_GATEWAY, RemoteHost
from streaming.ahead import Plan, render
from streaming.broker.ahead import AheadItem
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.provision import BrokerProvision
from streaming.opus import OpusSettings, encode_pcm
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.priority import Priority
from streaming.srtp import MasterKey
from tests.broker.scenario_4g import remote_speaker
from tests.broker.scenario_broker import TOPICS, Inbound, connected, wait
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp import write_keys
from tests.tcp_relay import TcpRelay

GROUP = ("239.7.0.2", 5004)
PORT = 8883
RELAY_PORT = 8884
DELAY_MS = 1500
CODEC = OpusSettings(complexity=5)


def main(outdir: Path, seconds: float) -> dict[str, object]:
    remote = RemoteHost(2)  # first: it makes the bridge that holds the gateway address Mosquitto binds
    pki = ensure_pki(outdir / "pki", ("localhost", HOST_GATEWAY))
    mq = Mosquitto(outdir / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, HOST_GATEWAY), TOPICS)
    mq.add_server("_loa", "server-secret")
    mq.add_cluster("c-4g", "cluster-secret", ("village",))
    mq.add_cluster("c-spy", "spy-secret", ("other",))
    mq.add_cluster("c-bad", "bad-secret", ("village",))
    mq.start()
    relay = TcpRelay((HOST_GATEWAY, RELAY_PORT), (HOST_GATEWAY, PORT)).start()
    far = None
    try:
        key = MasterKey.generate(2, not_before=time.time() - 600)
        keys = outdir / "keys.json"
        write_keys(keys, [key], GROUP)
        provision = BrokerProvision(
            HOST_GATEWAY, RELAY_PORT, "c-4g", "cluster-secret", pki.ca_cert,
            {"village": f"{GROUP[0]}:{GROUP[1]}"}, prefix=TOPICS.prefix,
        )  # fmt: skip
        (outdir / "provision.json").write_text(provision.serialize())
        group = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:{DELAY_MS}", "--keys", str(keys)]
        server = BrokerClient(
            Settings(HOST_GATEWAY, PORT, "_loa", "server-secret", pki.ca_cert), lambda t, p: None
        )
        server.start()
        assert connected(server)

        def settings(user: str, password: str) -> Settings:
            return Settings(HOST_GATEWAY, PORT, user, password, pki.ca_cert, backoff_min_s=0.2)

        spy = Inbound(
            settings("c-spy", "spy-secret"), [TOPICS.ahead_filter("village"), TOPICS.ahead_filter()]
        )
        # what the 4G cluster's account is given, before its speaker starts (a client id is one session)
        watch = Inbound(settings("c-4g", "cluster-secret"), [TOPICS.ahead_filter("village")])
        bad = BrokerClient(settings("c-bad", "bad-secret"), lambda t, p: None)
        bad.start()
        assert connected(bad) and connected(spy.client) and connected(watch.client)

        # the bulletin and a second one (cancelled later), rendered ahead
        cache = outdir / "cache"
        frames = encode_pcm(speech_like(seconds), CODEC)
        start = time.time() + 9.0  # media time of the first sample; speakers play it DELAY_MS later
        plan = Plan(secrets.randbits(32), secrets.randbits(16), secrets.randbits(32), start)
        destination = Destination(*GROUP, keys=lambda: [key])
        timed = render(frames, plan, destination, priority=Priority.NORMAL, codec=CODEC)
        air = start + DELAY_MS / 1000
        item = AheadItem("bulletin-1", 0, "village", air, timed[-1].at + 60.0, 1, tuple(timed))
        plan2 = Plan(secrets.randbits(32), secrets.randbits(16), secrets.randbits(32), timed[-1].at + 1.0)
        timed2 = render(frames[:100], plan2, destination, codec=CODEC)
        item2 = AheadItem(
            "bulletin-2", 0, "village", plan2.start_time + 1.5, timed2[-1].at + 60, 1, tuple(timed2)
        )
        published = time.time()
        server.publish(TOPICS.ahead("village", "bulletin-1"), item.serialize(), 1, True)
        server.publish(TOPICS.ahead("village", "bulletin-2"), item2.serialize(), 1, True)
        bad.publish(TOPICS.ahead("village", "forged"), item.serialize(), 1, True)  # refused by the ACL
        assert wait(lambda: len(watch.got) >= 2, 10)
        watch.client.stop()  # c-4g's account: the speaker connects with it next

        # the 4G speaker comes up after the publish: it gets the retained items on subscribing
        far = remote_speaker(
            remote,
            outdir,
            "far",
            [*group, "--provision", str(outdir / "provision.json"), "--cache-dir", str(cache)],
        )
        lan = start_speakers(["lan"], outdir, group)
        got_both = wait(lambda: (cache / "village.bulletin-1.loah").exists()
                        and (cache / "village.bulletin-2.loah").exists(), 6)  # fmt: skip
        delivered = time.time() - published
        server.publish(TOPICS.ahead("village", "bulletin-2"), b"", 1, True)  # cancelled
        cancelled = wait(lambda: not (cache / "village.bulletin-2.loah").exists(), 5)
        time.sleep(0.3)
        relay.cut()  # the link is down from here to the end
        cut_before_start = start - time.time()

        with PacedSender(transports=None) as sender:  # live: multicast only (the LAN)
            stream = sender.open_stream(
                [destination], CODEC, Priority.NORMAL, "loa-server", start, ("village",),
                ssrc=plan.ssrc, seq0=plan.seq0, ts0=plan.ts0,
            )  # fmt: skip
            stream.feed_encoded(frames)
            stream.finish()
            assert stream.wait(start - time.time() + seconds + 5)
            time.sleep(DELAY_MS / 1000 + 0.5)
        # past where bulletin-2 would have played had it not been cancelled
        time.sleep(max(0.0, timed2[-1].at + 2.0 - time.time()))
        stop_speakers([*lan, far])
        far = None
        spy.client.stop()
        bad.stop()
        server.stop()
        return {
            "ssrc": plan.ssrc,
            "cancelled_ssrc": plan2.ssrc,
            "frames": len(frames),
            "item_bytes": len(item.serialize()),
            "delivered_s": delivered,
            "got_both": got_both,
            "cancelled": cancelled,
            "cut_before_start_s": cut_before_start,
            "relay_connections": relay.accepted,
            "spy_got": [t for t, _, _ in spy.got],
            "watch_topics": sorted({t for t, _, _ in watch.got}),
        }
    finally:
        if far is not None:
            far.kill()
        relay.close()
        mq.stop()
        remote.close()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), float(sys.argv[2]))))
