"""Scenarios with the real Mosquitto over TLS, run inside a private network namespace (test_broker.py).

``python -m tests.broker.scenario_broker NAME DIR`` runs one scenario and prints its result as JSON; the
judging is in test_broker.py. Every packet stays on the namespace's loopback.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.broker.certs import ensure_pki, issue
from engine.broker.inbox import Inbox
from engine.broker.mosquitto import Listener, Mosquitto
from streaming.broker.bundle import Bundle, Datagram, Kind
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.messages import PlayReport, State, Status, StopReason, TimeReply
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.subscriber import BrokerSource
from streaming.broker.topics import Topics

PORT = 8883
TOPICS = Topics("test")
PASSWORDS = {"_loa": "server-secret", "_watch": "watch-secret", "c-a": "pass-a", "c-b": "pass-b"}
GROUPS = {"c-a": ("ga",), "c-b": ("gb",)}


def broker(directory: Path) -> tuple[Mosquitto, Path]:
    pki = ensure_pki(directory / "pki")
    mq = Mosquitto(directory / "broker", Listener(PORT, pki.cert, pki.key, pki.ca_cert, "127.0.0.1"), TOPICS)
    for name in ("_loa", "_watch"):
        mq.add_server(name, PASSWORDS[name])
    for cluster, groups in GROUPS.items():
        mq.add_cluster(cluster, PASSWORDS[cluster], groups)
    mq.start()
    return mq, pki.ca_cert


def settings(ca: Path, user: str, password: str | None = None, **kw: Any) -> Settings:
    pw = PASSWORDS.get(user) if password is None else password
    return Settings("localhost", PORT, user, pw, ca, backoff_min_s=0.2, backoff_max_s=1.0, **kw)


class Inbound:
    """A raw client that records what it receives (topic, payload, monotonic time)."""

    def __init__(self, s: Settings, filters: list[str], handler: Callable[[str, bytes], None] | None = None):
        self.got: list[tuple[str, bytes, float]] = []
        self._handler = handler
        self.client = BrokerClient(s, self._on)
        for f in filters:
            self.client.subscribe(f, 1)
        self.client.start()

    def _on(self, topic: str, payload: bytes) -> None:
        self.got.append((topic, payload, time.monotonic()))
        if self._handler is not None:
            self._handler(topic, payload)


def wait(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def connected(c: BrokerClient, timeout: float = 5.0) -> bool:
    return c.connected.wait(timeout)


def scenario_auth(directory: Path) -> dict[str, Any]:
    mq, ca = broker(directory)
    out: dict[str, Any] = {}
    try:
        for label, s in {
            "no_password": settings(ca, "c-a", password=""),
            "wrong_password": settings(ca, "c-a", password="guess"),
            "unknown_user": settings(ca, "c-z", password="pass-a"),
            "other_clusters_password": settings(ca, "c-a", password="pass-b"),
            "good": settings(ca, "c-a"),
        }.items():
            if label == "no_password":
                s = Settings(s.host, s.port, s.username, None, s.ca_file, backoff_min_s=0.2, backoff_max_s=1)
            c = BrokerClient(s, lambda t, p: None)
            c.start()
            ok = connected(c, 2.0)
            c.stop()
            out[label] = {"connected": ok, "refusals": c.refusals, "reason": c.refusal_reason}
        # a client that does not trust our CA (the system store) cannot even finish the handshake
        c = BrokerClient(settings(None, "c-a"), lambda t, p: None)  # type: ignore[arg-type]
        c.start()
        out["untrusted_ca"] = {"connected": connected(c, 1.5), "reason": c.last_reason}
        c.stop()
    finally:
        mq.stop()
    return out


def scenario_acl(directory: Path) -> dict[str, Any]:
    mq, ca = broker(directory)
    try:
        watch = Inbound(settings(ca, "_watch"), [TOPICS.all_clusters(k) for k in _server_kinds()])
        b = Inbound(settings(ca, "c-b"), [TOPICS.media("gb"), TOPICS.time_reply("c-b")])
        # c-a asks for its own group, c-b's group, every group, and c-b's time replies
        a = Inbound(
            settings(ca, "c-a"),
            [
                TOPICS.media("ga"),
                TOPICS.media("gb"),
                "loa/v1/test/g/+/media",
                "loa/#",
                TOPICS.time_reply("c-b"),
            ],
        )
        server = BrokerClient(settings(ca, "_loa"), lambda t, p: None)
        server.start()
        assert all(connected(c.client) for c in (watch, b, a)) and connected(server)
        time.sleep(0.3)  # subscriptions settle
        one = Bundle((Datagram(Kind.RTP, b"genuine"),)).serialize()
        server.publish(TOPICS.media("ga"), one)
        server.publish(TOPICS.media("gb"), one)
        server.publish(TOPICS.time_reply("c-b"), b"reply-for-b")
        forged = Bundle((Datagram(Kind.RTP, b"forged"),)).serialize()
        a.client.publish(TOPICS.media("gb"), forged)  # a cluster may not publish media
        a.client.publish(TOPICS.media("ga"), forged)  # ... not even to its own group
        a.client.publish(TOPICS.time_reply("c-b"), b"forged-reply", 1)
        a.client.publish(TOPICS.time_reply("c-a"), b"forged-own-reply", 1)
        a.client.publish(TOPICS.status("c-b"), Status(State.OFFLINE).serialize(), 1, True)
        a.client.publish(TOPICS.report("c-b"), b"forged-report", 1)
        a.client.publish(TOPICS.status("c-a"), Status(State.ONLINE, network="4g").serialize(), 1, True)
        time.sleep(1.0)
        result = {
            "a_got": [(t, p.hex()) for t, p, _ in a.got],
            "b_got": [(t, p.hex()) for t, p, _ in b.got],
            "watch_got": [(t, p.hex()) for t, p, _ in watch.got],
            "genuine": one.hex(),
            "forged": forged.hex(),
        }
        for c in (watch.client, b.client, a.client, server):
            c.stop()
        return result
    finally:
        mq.stop()


def _server_kinds() -> list[Any]:
    from streaming.broker.topics import Kind as TK

    return [TK.STATUS, TK.REPORT, TK.TIME_REQUEST]


def scenario_revoke(directory: Path) -> dict[str, Any]:
    mq, ca = broker(directory)
    try:
        a = Inbound(settings(ca, "c-a"), [TOPICS.media("ga")])
        b = Inbound(settings(ca, "c-b"), [TOPICS.media("gb")])
        assert connected(a.client) and connected(b.client)
        drops: list[float] = []
        a.client._mqtt.on_disconnect = lambda *args: drops.append(time.monotonic())
        t0 = time.monotonic()
        mq.revoke("c-a")
        wait(lambda: bool(drops), 5.0)
        time.sleep(2.5)  # c-a keeps retrying (backoff 0.2..1 s): every try must be refused
        result = {
            "dropped_after_s": drops[0] - t0 if drops else None,
            "a_connected": a.client.connected.is_set(),
            "a_connects": a.client.connects,
            "a_refusals": a.client.refusals,
            "a_reason": a.client.last_reason,
            "b_connected": b.client.connected.is_set(),
            "b_connects": b.client.connects,
        }
        a.client.stop()
        b.client.stop()
        return result
    finally:
        mq.stop()


CLUSTER_CHILD = """
import sys, time
from pathlib import Path
from streaming.broker.client import Settings
from streaming.broker.messages import State, Status
from streaming.broker.subscriber import BrokerSource
from streaming.broker.topics import Topics
s = Settings("localhost", 8883, "c-a", "pass-a", Path(sys.argv[1]))
src = BrokerSource(s, Topics("test"), ["ga"], lambda *a: None,
                   status=lambda: Status(State.ONLINE, "0.1.0", 12.0, "4g", "", 40.0))
src.start()
src.client.connected.wait(5)
print("up", flush=True)
time.sleep(60)
"""


def scenario_lwt(directory: Path) -> dict[str, Any]:
    mq, ca = broker(directory)
    try:
        statuses: list[tuple[str, str, float]] = []
        inbox = Inbox(
            TOPICS, _NoReplies(), on_status=lambda c, s: statuses.append((c, s.state.value, time.monotonic()))
        )
        watch = Inbound(settings(ca, "_watch"), inbox.filters(), inbox.handle)
        assert connected(watch.client)
        child = subprocess.Popen(
            [sys.executable, "-c", CLUSTER_CHILD, str(ca)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "up"
        wait(lambda: any(s[1] == "online" for s in statuses))
        online = inbox.statuses.get("c-a")
        t0 = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)  # the process dies; the kernel closes its socket
        child.wait()
        wait(lambda: any(s[1] == "offline" for s in statuses), 10.0)
        offline_at = next((s[2] for s in statuses if s[1] == "offline"), None)
        watch.client.stop()
        # a server that connects later still learns it from the retained status
        late: list[Status] = []
        later = Inbound(
            settings(ca, "_loa"), [TOPICS.status("c-a")], lambda t, p: late.append(Status.parse(p))
        )
        wait(lambda: bool(late))
        later.client.stop()
        return {
            "statuses": [s[:2] for s in statuses],
            "online": None if online is None else json.loads(online.serialize()),
            "offline_after_s": None if offline_at is None else offline_at - t0,
            "retained_for_late_server": [s.state.value for s in late],
        }
    finally:
        mq.stop()


class _NoReplies:
    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        return False


def scenario_media(directory: Path) -> dict[str, Any]:
    """100 frames paced at 20 ms with a sender report every 25 and a BYE, server -> broker -> cluster."""
    mq, ca = broker(directory)
    try:
        received: list[tuple[str, bytes, bool, float]] = []
        offsets: list[tuple[float, float]] = []
        lock = threading.Lock()

        def ingress(group: str, data: bytes, rtcp: bool, arrival: float) -> None:
            with lock:
                received.append((group, data, rtcp, arrival))

        src = BrokerSource(
            settings(ca, "c-a"),
            TOPICS,
            ["ga"],
            ingress,
            on_time=lambda reply, t4: offsets.append(reply.offset_and_delay(t4)),
        )
        server_box: list[BrokerClient] = []
        inbox = Inbox(TOPICS, _Late(server_box))
        server = BrokerClient(settings(ca, "_loa"), inbox.handle)
        for f in inbox.filters():
            server.subscribe(f, 1)
        server_box.append(server)
        server.start()
        src.start()
        assert connected(server) and connected(src.client)
        time.sleep(0.3)
        publisher = BrokerPublisher(server, TOPICS)
        sent: list[tuple[bytes, bool]] = []
        start = time.monotonic()
        for i in range(100):
            target = start + i * 0.02
            time.sleep(max(0.0, target - time.monotonic()))
            rtp = b"\x80\x6f" + i.to_bytes(2, "big") + os.urandom(80)  # stands for an SRTP packet
            publisher.send("ga", [rtp], rtcp=False)
            sent.append((rtp, False))
            if i % 25 == 24:
                sr = b"\x80\xc8" + i.to_bytes(2, "big") + os.urandom(40)
                publisher.send("ga", [sr], rtcp=True)
                sent.append((sr, True))
        bye = b"\x81\xcb" + os.urandom(20)
        publisher.send("ga", [bye], rtcp=True)
        sent.append((bye, True))
        publisher.end("ga")
        for _ in range(3):
            src.request_time()
            time.sleep(0.1)
        wait(lambda: len(received) >= len(sent) and len(offsets) >= 3, 5.0)
        arrivals = sorted({r[3] for r in received})
        result = {
            "sent": [(d.hex(), r) for d, r in sent],
            "received": [(g, d.hex(), r) for g, d, r, _ in received],
            "arrival_gaps_s": [b - a for a, b in itertools.pairwise(arrivals)],
            "publisher": dict(vars(publisher.counters)),
            "source": dict(vars(src.counters)),
            "time": offsets,
            "inbox": dict(vars(inbox.counters)),
        }
        src.stop()
        server.stop()
        return result
    finally:
        mq.stop()


class _Late:
    """Publishes through a client made after the inbox (the inbox answers through the same connection)."""

    def __init__(self, box: list[BrokerClient]) -> None:
        self.box = box

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        return self.box[0].publish(topic, payload, qos, retain)


def scenario_garbage(directory: Path) -> dict[str, Any]:
    mq, ca = broker(directory)
    try:
        got: list[bytes] = []
        src = BrokerSource(settings(ca, "c-a"), TOPICS, ["ga"], lambda g, d, r, t: got.append(d))
        inbox = Inbox(TOPICS, _NoReplies())
        server = BrokerClient(settings(ca, "_loa"), inbox.handle)
        for f in inbox.filters():
            server.subscribe(f, 1)
        server.start()
        src.start()
        assert connected(server) and connected(src.client)
        time.sleep(0.3)
        good = Bundle((Datagram(Kind.RTP, b"ok"),)).serialize()
        for payload in (b"", b"\x07garbage", b"\x01\x05\x00\x00\x01x", os.urandom(2000), good):
            server.publish(TOPICS.media("ga"), payload)
        server.publish(TOPICS.time_reply("c-a"), b"not json")
        server.publish(TOPICS.time_reply("c-a"), TimeReply("0" * 32, 1.0, 2.0, 3.0).serialize())  # no request
        for payload in (b"{", b'{"v":1,"state":"asleep"}', b"\xff" * 10):
            src.client.publish(TOPICS.status("c-a"), payload, 1)
            src.client.publish(TOPICS.report("c-a"), payload, 1)
        report = PlayReport("b-1", 0, 1.0, 2.0, 50, 0, 0, StopReason.END)
        src.publish_report(report)
        wait(lambda: inbox.counters.reports >= 1 and bool(got), 5.0)
        time.sleep(0.3)
        result = {
            "got": [d.hex() for d in got],
            "source": dict(vars(src.counters)),
            "inbox": dict(vars(inbox.counters)),
            "source_connected": src.client.connected.is_set(),
        }
        src.stop()
        server.stop()
        return result
    finally:
        mq.stop()


def scenario_burst(directory: Path) -> dict[str, Any]:
    """3,000 publishes as fast as the caller's thread can make them, racing the client's network thread."""
    mq, ca = broker(directory)
    try:
        got: list[bytes] = []
        src = BrokerSource(settings(ca, "c-a"), TOPICS, ["ga"], lambda g, d, r, t: got.append(d))
        server = BrokerClient(settings(ca, "_loa"), lambda t, p: None)
        server.start()
        src.start()
        assert connected(server) and connected(src.client)
        time.sleep(0.3)
        sent = [Bundle((Datagram(Kind.RTP, i.to_bytes(4, "big") * 50),)).serialize() for i in range(3000)]
        accepted = sum(server.publish(TOPICS.media("ga"), payload) for payload in sent)
        wait(lambda: len(got) >= len(sent), 20.0)
        result = {
            "accepted": accepted,
            "received_in_order": got == [Bundle.parse(p).datagrams[0].data for p in sent],
            "received": len(got),
            "server_connects": server.connects,
            "server_reason": server.last_reason,
        }
        src.stop()
        server.stop()
        return result
    finally:
        mq.stop()


def scenario_client_certs(directory: Path) -> dict[str, Any]:
    """With ``client_certs`` a cluster needs a certificate from our CA as well as its password."""
    pki = ensure_pki(directory / "pki")
    listener = Listener(PORT, pki.cert, pki.key, pki.ca_cert, "127.0.0.1", client_certs=True)
    mq = Mosquitto(directory / "broker", listener, TOPICS)
    mq.add_cluster("c-a", PASSWORDS["c-a"], GROUPS["c-a"])
    mq.start()
    issue(pki.ca_cert, pki.ca_key, directory / "c-a.pem", directory / "c-a.key", "c-a")
    rogue = ensure_pki(directory / "rogue")  # a certificate from another CA
    issue(rogue.ca_cert, rogue.ca_key, directory / "r.pem", directory / "r.key", "c-a")
    out: dict[str, Any] = {}
    try:
        for label, extra in {
            "no_cert": {},
            "rogue_cert": {"cert_file": directory / "r.pem", "key_file": directory / "r.key"},
            "cert_wrong_password": {"cert_file": directory / "c-a.pem", "key_file": directory / "c-a.key"},
            "cert_and_password": {"cert_file": directory / "c-a.pem", "key_file": directory / "c-a.key"},
        }.items():
            password = "guess" if label == "cert_wrong_password" else None
            c = BrokerClient(settings(pki.ca_cert, "c-a", password, **extra), lambda t, p: None)
            c.start()
            out[label] = connected(c, 1.5)
            c.stop()
    finally:
        mq.stop()
    return out


if __name__ == "__main__":
    name, directory = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(globals()[f"scenario_{name}"](directory)))
