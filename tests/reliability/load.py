"""The load ramp: more and more concurrent StreamSynthesize and CreateBroadcast callers until the server
refuses work, while emergencies are sent and the server's memory is sampled.

Used by tests/reliability/test_load.py (small) and bench/reliability.py (larger). Everything goes over the
server's unix socket; the broadcasts air inside the server's own network namespace.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from engine.api.client import Client
from protos.loa.v1 import loa_pb2 as pb
from tests.reliability.harness import Loa, retry_after_ms

GROUP = "ramp"
TEXT = (
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng mở rộng cho trẻ em trong tháng này. "
    "Đề nghị các gia đình đưa con em đến trạm y tế đúng giờ. "
    "Khi đi mang theo sổ tiêm chủng và đeo khẩu trang. "
)
_serial = itertools.count()


def fresh_text() -> str:
    """TEXT with every sentence numbered anew, so no call is answered from the synthesis cache."""
    n = next(_serial)
    return " ".join(f"Tin số {n}, mục {i}: {s.strip()}." for i, s in enumerate(TEXT.split(".")) if s.strip())


BULLETIN = "Thông báo: ngày 2/9 nghỉ lễ."
EMERGENCY = "Khẩn cấp: bão số 3 sắp đổ bộ, bà con di chuyển đến nơi an toàn."


@dataclass
class Level:
    """What one step of the ramp got back."""

    clients: int
    codes: Counter[str] = field(default_factory=Counter)  # "Kind CODE" → count
    hints_ms: list[int] = field(default_factory=list)  # retry-after-ms on each RESOURCE_EXHAUSTED
    unhinted: int = 0  # RESOURCE_EXHAUSTED without a hint
    seconds: float = 0.0

    def count(self, kind: str = "", code: str = "") -> int:
        """Calls of ``kind`` (any when empty) that ended with ``code`` (any when empty)."""
        return sum(
            n
            for k, n in self.codes.items()
            if (not kind or k.split()[0] == kind) and (not code or k.split()[1] == code)
        )


@dataclass
class Ramp:
    levels: list[Level]
    base_rss: int
    peak_rss: int
    emergencies_sent: int
    emergencies_admitted: int
    emergency_codes: Counter[str]

    @property
    def exhausted(self) -> int:
        return sum(lv.count("", "RESOURCE_EXHAUSTED") for lv in self.levels)

    def refused(self, kind: str) -> int:
        return sum(lv.count(kind, "RESOURCE_EXHAUSTED") for lv in self.levels)

    def calls(self) -> int:
        return sum(sum(lv.codes.values()) for lv in self.levels)


def setup(client: Client) -> None:
    client.groups.CreateGroup(
        pb.CreateGroupRequest(
            group=pb.Group(id=GROUP, name=GROUP, multicast_address="239.192.60.1", port=5004)
        ),
        metadata=client.metadata,
    )


class _Sampler(threading.Thread):
    """Samples the server's resident memory every 20 ms."""

    def __init__(self, loa: Loa) -> None:
        super().__init__(daemon=True)
        self.loa = loa
        self.peak = loa.rss_bytes()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.02):
            try:
                self.peak = max(self.peak, self.loa.rss_bytes())
            except (OSError, RuntimeError, AssertionError):
                return


def _call(kind: str, level: Level, lock: threading.Lock, action: Callable[[], Any]) -> None:
    code, hint = "OK", None
    try:
        action()
    except grpc.RpcError as exc:
        code = exc.code().name
        hint = retry_after_ms(exc) if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else None
        if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and hint is None:
            with lock:
                level.unhinted += 1
    with lock:
        level.codes[f"{kind} {code}"] += 1
        if hint is not None:
            level.hints_ms.append(hint)


def ramp(
    loa: Loa,
    levels: tuple[int, ...] = (2, 4, 8, 16),
    calls_per_client: int = 2,
    emergencies: int = 2,
    deadline_s: float = 60.0,
) -> Ramp:
    """Each level starts ``clients`` threads, each making ``calls_per_client`` StreamSynthesize and as many
    CreateBroadcast calls back to back; at the top level, EMERGENCY broadcasts go out mid-load."""
    client = loa.client()
    md = client.metadata
    base = loa.rss_bytes()
    sampler = _Sampler(loa)
    sampler.start()
    results: list[Level] = []
    emergency_codes: Counter[str] = Counter()
    sent = 0
    try:
        for index, clients in enumerate(levels):
            level = Level(clients)
            lock = threading.Lock()

            def stream() -> None:
                for _ in client.synthesis.StreamSynthesize(
                    pb.SynthesizeRequest(text=fresh_text()), metadata=md, timeout=deadline_s
                ):
                    pass

            def create() -> None:
                request = pb.CreateBroadcastRequest(
                    segments=[pb.Segment(language="vi", text=BULLETIN)], group_ids=[GROUP]
                )
                client.broadcasts.CreateBroadcast(request, metadata=md, timeout=deadline_s)

            def worker(level: Level = level, lock: threading.Lock = lock) -> None:
                for _ in range(calls_per_client):
                    _call("StreamSynthesize", level, lock, stream)
                    _call("CreateBroadcast", level, lock, create)

            started = time.monotonic()
            threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
            for thread in threads:
                thread.start()
            if index == len(levels) - 1:
                for _ in range(emergencies):
                    time.sleep(0.1)
                    sent += 1
                    request = pb.CreateBroadcastRequest(
                        segments=[pb.Segment(language="vi", text=EMERGENCY)],
                        group_ids=[GROUP],
                        priority=pb.PRIORITY_EMERGENCY,
                    )
                    try:
                        client.broadcasts.CreateBroadcast(request, metadata=md, timeout=deadline_s)
                        emergency_codes["OK"] += 1
                    except grpc.RpcError as exc:
                        emergency_codes[exc.code().name] += 1
            for thread in threads:
                thread.join(deadline_s * calls_per_client * 2)
            level.seconds = time.monotonic() - started
            results.append(level)
    finally:
        sampler.stopping.set()
        sampler.join()
        client.close()
    return Ramp(results, base, sampler.peak, sent, emergency_codes["OK"], emergency_codes)


def drain(client: Client) -> int:
    """Cancels every unfinished broadcast; returns how many there were."""
    md = client.metadata
    unfinished = [
        pb.BROADCAST_STATE_QUEUED,
        pb.BROADCAST_STATE_SYNTHESIZING,
        pb.BROADCAST_STATE_ON_AIR,
        pb.BROADCAST_STATE_PREEMPTED,
    ]
    found = client.broadcasts.ListBroadcasts(
        pb.ListBroadcastsRequest(states=unfinished, page_size=1000), metadata=md
    ).broadcasts
    for b in found:
        try:
            client.broadcasts.CancelBroadcast(pb.CancelBroadcastRequest(broadcast_id=b.id), metadata=md)
        except grpc.RpcError as exc:  # it ended meanwhile
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
    return len(found)
