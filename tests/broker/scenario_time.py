"""Loa's time exchange over the broker, inside a private namespace (judged in test_broker_time.py).

``python -m tests.broker.scenario_time NAME DIR [SECONDS]`` prints the scenario's result as JSON.

- ``sync``: a LAN speaker on the true clock hears the group on multicast; two 4G speakers on a
  :class:`engine.netns.RemoteHost` (no multicast route) run simulated clocks (+200 ms +100 ppm and
  -200 ms -100 ppm) and learn the server's clock with ``--broker-time`` (their requests answered by the
  server's :class:`engine.broker.inbox.Inbox` over the same TLS connection). WAVs go to DIR.
- ``attacks``: a speaker agent (in this process) syncing over the broker faces a reply with a nonce it
  never sent, a replay of a genuine reply, and another cluster publishing on its ``time/resp`` topic.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from engine.broker.certs import ensure_pki
from engine.broker.inbox import Inbox
from engine.broker.mosquitto import Listener, Mosquitto
from engine.netns import HOST_GATEWAY, RemoteHost
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.messages import TimeReply
from streaming.broker.provision import BrokerProvision
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.transport import BrokerTransport
from streaming.clock import SimulatedClock
from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.receiver import SpeakerAgent, SpeakerConfig
from streaming.sdp import GroupSpec
from streaming.sinks import open_sink
from streaming.srtp import MasterKey
from streaming.transport import UdpTransport
from tests.broker.scenario_4g import remote_speaker
from tests.broker.scenario_broker import TOPICS, connected, wait
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp import write_keys

GROUP = ("239.7.0.1", 5004)
PORT = 8883
DELAY_MS = 1500
CLOCKS = {"far-plus": (200.0, 100.0), "far-minus": (-200.0, -100.0)}


class _Replies:
    """The inbox's way out: the server's own connection, made after the inbox; keeps what it sent."""

    def __init__(self) -> None:
        self.client: BrokerClient | None = None
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        assert self.client is not None
        self.sent.append((topic, payload))
        return self.client.publish(topic, payload, qos, retain)


def _server(ca: Path, host: str, answer: bool = True) -> tuple[BrokerClient, Inbox, _Replies]:
    replies = _Replies()
    inbox = Inbox(TOPICS, replies)
    server = BrokerClient(Settings(host, PORT, "_loa", "server-secret", ca), inbox.handle)
    if answer:
        for f in inbox.filters():
            server.subscribe(f, 1)
    replies.client = server
    server.start()
    assert connected(server)
    return server, inbox, replies


def scenario_sync(outdir: Path, seconds: float) -> dict[str, Any]:
    remote = RemoteHost(2)  # first: it makes the bridge that holds the gateway address Mosquitto binds
    pki = ensure_pki(outdir / "pki", ("localhost", HOST_GATEWAY))
    mq = Mosquitto(outdir / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, HOST_GATEWAY), TOPICS)
    mq.add_server("_loa", "server-secret")
    for name in CLOCKS:
        mq.add_cluster(name, f"{name}-secret", ("village",))
    mq.start()
    try:
        key = MasterKey.generate(2, not_before=time.time() - 600)
        keys = outdir / "keys.json"
        write_keys(keys, [key], GROUP)
        group = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:{DELAY_MS}", "--keys", str(keys)]
        server, inbox, _ = _server(pki.ca_cert, HOST_GATEWAY)
        publisher = BrokerPublisher(server, TOPICS)
        lan = start_speakers(["lan"], outdir, group)
        far = []
        for name, (offset_ms, drift_ppm) in CLOCKS.items():
            groups = {"village": f"{GROUP[0]}:{GROUP[1]}"}
            provision = BrokerProvision(
                HOST_GATEWAY, PORT, name, f"{name}-secret", pki.ca_cert, groups, prefix=TOPICS.prefix
            )
            (outdir / f"{name}.json").write_text(provision.serialize())
            clock = ["--clock-offset-ms", str(offset_ms), "--clock-drift-ppm", str(drift_ppm)]
            args = [*group, "--provision", str(outdir / f"{name}.json"), "--broker-time", *clock]
            far.append(remote_speaker(remote, outdir, name, args))
        time.sleep(2.5)  # TLS, subscriptions, and the fast start of the time exchange (10 x 100 ms)
        with PacedSender(transports=[UdpTransport(), BrokerTransport(publisher)]) as sender:
            stream = sender.open_stream(
                [Destination(*GROUP, keys=lambda: [key])],
                codec=OpusSettings(complexity=5),
                groups=("village",),
            )
            audio = speech_like(seconds)
            for i in range(0, len(audio), 24_000):  # half a second at a time, ahead of its media time
                stream.feed(audio[i : i + 24_000])
                time.sleep(0.2)
            stream.finish()
            assert stream.wait(seconds + 5)
            time.sleep(DELAY_MS / 1000 + 0.5)
            stop_speakers([*lan, *far])
        server.stop()
        return {"ssrc": stream.ssrc, "inbox": dict(vars(inbox.counters)), "clocks": CLOCKS}
    finally:
        mq.stop()
        remote.close()


def _agent(ca: Path, offset_s: float) -> SpeakerAgent:
    provision = BrokerProvision(
        "localhost", PORT, "c-a", "pass-a", ca, {"ga": f"{GROUP[0]}:{GROUP[1]}"}, prefix=TOPICS.prefix
    )
    config = SpeakerConfig(
        [GroupSpec.parse(f"{GROUP[0]}:{GROUP[1]}")],
        name="victim",
        clock=SimulatedClock(offset_s),
        broker=provision,
        broker_time=True,
        log_frames=False,
    )
    return SpeakerAgent(config, open_sink("null"))


def _forge(nonce: str, t1: float, ahead_s: float, local_offset_s: float = 0.2) -> bytes:
    """A well-formed reply for ``nonce`` that says the server's clock is ``ahead_s`` past the truth (t2:
    when the request left, on the true clock; t3: now), as if answered at once however old the request."""
    return TimeReply(nonce, t1, t1 - local_offset_s + ahead_s, time.time() + ahead_s).serialize()


def scenario_attacks(directory: Path, _seconds: float = 0.0) -> dict[str, Any]:
    pki = ensure_pki(directory / "pki")
    mq = Mosquitto(directory / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, "127.0.0.1"), TOPICS)
    mq.add_server("_loa", "server-secret")
    mq.add_cluster("c-a", "pass-a", ("ga",))
    mq.add_cluster("c-b", "pass-b", ("gb",))
    mq.start()
    out: dict[str, Any] = {}
    try:
        # 1. No server answers yet: the victim's requests stay outstanding. Another cluster, c-b, publishes
        #    a reply carrying the victim's own outstanding nonce on the victim's time/resp topic.
        quiet, _, _ = _server(pki.ca_cert, "localhost", answer=False)
        attacker = BrokerClient(Settings("localhost", PORT, "c-b", "pass-b", pki.ca_cert), lambda t, p: None)
        attacker.start()
        agent = _agent(pki.ca_cert, 0.2).start()
        source = agent.broker_source
        assert source is not None and connected(attacker) and connected(source.client)
        assert wait(lambda: bool(source.time_requests._outstanding), 3.0)
        nonce, (t1, _) = next(iter(source.time_requests._outstanding.items()))
        accepted = attacker.publish(TOPICS.time_reply("c-a"), _forge(nonce, t1, 5.0), 1)
        time.sleep(1.0)
        out["acl"] = {
            "attacker_publish_queued": accepted,
            "victim_counters": dict(vars(source.counters)),
            "victim_offset": agent.offset(),
        }
        # ... while the same reply from the server's account is taken (the message itself was valid)
        assert wait(lambda: bool(source.time_requests._outstanding), 3.0)
        nonce, (t1, _) = next(iter(source.time_requests._outstanding.items()))
        quiet.publish(TOPICS.time_reply("c-a"), _forge(nonce, t1, 0.0), 1)
        wait(lambda: source.counters.time_replies >= 1, 3.0)
        out["control"] = {"victim_counters": dict(vars(source.counters)), "victim_offset": agent.offset()}
        quiet.stop()
        attacker.stop()

        # 2. The server answers: the victim settles. Then a reply with a nonce it never sent (+5 s), and a
        #    replay of a genuine reply it already took.
        server, inbox, replies = _server(pki.ca_cert, "localhost")
        time.sleep(2.0)
        settled = agent.offset()
        genuine = next(p for t, p in replies.sent if t == TOPICS.time_reply("c-a"))
        before = dict(vars(source.counters))
        server.publish(TOPICS.time_reply("c-a"), _forge(secrets.token_hex(16), time.time(), 5.0))
        server.publish(TOPICS.time_reply("c-a"), genuine)
        time.sleep(1.0)
        assert agent.timesync is not None
        out["unknown"] = {
            "settled_offset": settled,
            "offset_after": agent.offset(),
            "before": before,
            "after": dict(vars(source.counters)),
            "inbox": dict(vars(inbox.counters)),
            "jumps_ignored": agent.timesync.estimator.jumps_ignored,
        }
        agent.stop()
        server.stop()
    finally:
        mq.stop()
    return out


if __name__ == "__main__":
    name, directory = sys.argv[1], Path(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    print(json.dumps(globals()[f"scenario_{name}"](directory, seconds)))
