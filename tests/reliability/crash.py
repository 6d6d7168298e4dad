"""kill -9 in a loop: the server is killed while a broadcast is on air and CreateBroadcast requests arrive,
restarted on the same state directory, and everything it acknowledged is looked for.

Each request carries its own idempotency key. One the server answered OK is *acknowledged* and must be
there after every restart (a loss otherwise). One cut by the kill is sent again with the same key after the
restart, as a client would: it must then exist exactly once, never twice. The bulletin on air when the
server dies must come back with an interruption saying where it was cut, and air on from there.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import grpc

from engine.api import convert
from engine.api.client import Client
from protos.loa.v1 import loa_pb2 as pb
from tests.reliability.harness import Loa

GROUP = "crash"
LONG = " ".join(f"Tin số {i}." for i in range(1, 200))  # short sentences: progress moves every ~0.7 s
AIRING = (pb.BROADCAST_STATE_SYNTHESIZING, pb.BROADCAST_STATE_ON_AIR)


@dataclass
class Round:
    """One kill: what was acknowledged before it, what was cut, and what the restart showed."""

    acknowledged: int = 0
    cut: int = 0  # requests in flight or refused when the server died
    lost: int = 0  # acknowledged, then missing after the restart
    duplicated: int = 0  # a retried key that made a second broadcast
    interrupted_at: tuple[int, int, int] | None = None  # (airing, segment, sentence) where the kill cut it
    aired_s: float = 0.0  # audio aired before the cut, over all airings
    resumed: bool = False


@dataclass
class Report:
    rounds: list[Round] = field(default_factory=list)
    bulletin_id: str = ""

    @property
    def acknowledged(self) -> int:
        return sum(r.acknowledged for r in self.rounds)

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.rounds)

    @property
    def duplicated(self) -> int:
        return sum(r.duplicated for r in self.rounds)


class _Sender(threading.Thread):
    """Sends CreateBroadcast requests back to back until the server stops answering."""

    def __init__(self, client: Client, prefix: str) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.prefix = prefix
        self.acked: dict[str, str] = {}  # idempotency key → broadcast id
        self.cut: dict[str, pb.CreateBroadcastRequest] = {}  # requests without an answer, to send again
        self.stopping = threading.Event()

    def run(self) -> None:
        start = convert.timestamp(time.time() + 3 * 3600)  # waits in the queue; keeps the group free
        n = 0
        while not self.stopping.is_set():
            key = f"{self.prefix}-{n}"
            n += 1
            sent = request(key, start)
            try:
                made = self.client.broadcasts.CreateBroadcast(sent, metadata=self.client.metadata, timeout=5)
                self.acked[key] = made.id
            except grpc.RpcError:
                self.cut[key] = sent
                if not self.stopping.wait(0.02):
                    continue


def request(key: str, start: Any) -> pb.CreateBroadcastRequest:
    return pb.CreateBroadcastRequest(
        segments=[pb.Segment(language="vi", text=f"Thông báo {key}.")],
        group_ids=[GROUP],
        idempotency_key=key,
        start_time=start,
    )


def _get(client: Client, broadcast_id: str) -> pb.Broadcast | None:
    try:
        return client.broadcasts.GetBroadcast(
            pb.GetBroadcastRequest(broadcast_id=broadcast_id), metadata=client.metadata, timeout=10
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def _wait_airing(client: Client, broadcast_id: str, timeout: float = 30.0) -> pb.Broadcast:
    deadline = time.monotonic() + timeout
    while True:
        b = _get(client, broadcast_id)
        assert b is not None
        if b.state in AIRING or time.monotonic() > deadline:
            return b
        time.sleep(0.02)


def kill_loop(loa: Loa, rounds: int, seed: int = 7, kill_after: tuple[float, float] = (0.5, 2.0)) -> Report:
    """Runs ``rounds`` kills on a started server; returns what each showed. The server is up at the end."""
    rng = random.Random(seed)
    report = Report()
    with loa.client() as client:
        client.groups.CreateGroup(
            pb.CreateGroupRequest(
                group=pb.Group(
                    id=GROUP,
                    name=GROUP,
                    multicast_address="239.192.70.1",
                    port=5004,
                    playout_delay=convert.duration(0.2),
                )
            ),
            metadata=client.metadata,
        )
        bulletin = client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(
                segments=[pb.Segment(language="vi", text=LONG)], group_ids=[GROUP], repeat_count=100
            ),
            metadata=client.metadata,
        )
    report.bulletin_id = bulletin.id
    every: dict[str, str] = {}
    for index in range(rounds):
        record = Round()
        with loa.client() as client:
            _wait_airing(client, bulletin.id)
            sender = _Sender(client, f"r{index}")
            sender.start()
            time.sleep(rng.uniform(*kill_after))
            loa.kill()
            sender.stopping.set()
            sender.join(10)
        record.acknowledged, record.cut = len(sender.acked), len(sender.cut)
        every.update(sender.acked)
        loa.start()
        with loa.client() as client:
            stored = _stored(client)
            record.lost = sum(1 for key, bid in every.items() if stored.get(key) != bid)
            # A client sends again, unchanged, what got no answer: at most one broadcast per key.
            for key, sent in sender.cut.items():
                again = client.broadcasts.CreateBroadcast(sent, metadata=client.metadata, timeout=10)
                if key in every and every[key] != again.id:
                    record.duplicated += 1
                every[key] = again.id
            aired = _get(client, bulletin.id)
            assert aired is not None
            restarts = [c for c in aired.interruptions if c.reason == "server restart"]
            if len(restarts) == index + 1:
                at = restarts[-1].at
                record.interrupted_at = (at.repeat_index, at.segment_index, at.sentence_index)
                record.aired_s = convert.seconds_of(at.aired)
            record.resumed = _wait_airing(client, bulletin.id).state in AIRING
        report.rounds.append(record)
    return report


def _stored(client: Client) -> dict[str, str]:
    """Idempotency key → broadcast id of every stored broadcast; two broadcasts with one key fail here."""
    found: dict[str, str] = {}
    token = ""
    while True:
        page = client.broadcasts.ListBroadcasts(
            pb.ListBroadcastsRequest(page_size=1000, page_token=token), metadata=client.metadata
        )
        for b in page.broadcasts:
            if b.idempotency_key:
                assert b.idempotency_key not in found, f"two broadcasts with key {b.idempotency_key}"
                found[b.idempotency_key] = b.id
        token = page.next_page_token
        if not token:
            return found
