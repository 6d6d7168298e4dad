"""The fleet simulator: thousands of speaker clusters in one process, one epoll loop, real TLS sockets.

Each simulated cluster is what a 4G cluster is to the broker: its own account and TCP+TLS connection,
MQTT 5 with a retained "offline" last will, a retained "online" status on every connect, subscriptions to
its commune's group and the province's group, and reconnection with the jittered backoff of
``streaming.broker.client.backoff_delay`` (same defaults as ``Settings``). It does not decrypt: for every
RTP frame of every media bundle it reads SSRC and timestamp from the clear header, maps the timestamp to
the stream's wall clock (the bench sends each stream's (wall, RTP) pair, taken from its sender report)
and compares the arrival with that frame's playout time, wall + the group's playout delay.

Run by bench/bench_province.py as ``multiprocessing`` workers: :func:`run` takes a :class:`FleetConfig`
and answers the requests of :class:`Control` over its pipe. Wire details: bench/fleet_wire.py.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import random
import select
import socket
import ssl
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bench import fleet_wire as wire
from bench.fleet_rig import raise_fd_limit
from streaming.broker.client import Settings, backoff_delay
from streaming.broker.messages import State, Status
from streaming.broker.topics import Topics

_DEFAULTS = Settings("localhost", 0, "defaults", None, None)
HIST_LOW, HIST_STEP, HIST_BINS = -2.0, 0.01, 600  # slack (playout time - arrival) in 10 ms bins
_HALF, _MASK = 1 << 31, (1 << 32) - 1
# a parsed bundle: each frame's playout time and stats, the earliest, and per SSRC (frames, stats)
Parsed = tuple[list[tuple[float, "LabelStats"]], float, list[tuple[int, int, "LabelStats"]]]
IDLE, CONNECTING, HANDSHAKE, CONNACK, SUBACK, READY = range(6)


@dataclass(frozen=True)
class FleetConfig:
    host: str
    port: int
    ca_file: str
    password: str
    prefix: str
    clusters: list[tuple[str, tuple[str, ...]]]  # cluster id, its groups
    delay_s: float  # the groups' playout delay
    keepalive_s: int = 60
    in_flight: int = 128  # connection attempts under way at once (TCP + TLS + CONNECT + SUBSCRIBE)
    # the loop wakes at most every tick: what a socket received meanwhile is read in one go (fewer system
    # calls per message); an arrival is timed when it is read, so this makes frames look later, not earlier
    tick_s: float = 0.005
    seed: int = 0


@dataclass
class LabelStats:
    frames: int = 0
    late: int = 0
    hist: list[int] = field(default_factory=lambda: [0] * HIST_BINS)


class Cluster:
    __slots__ = (
        "attempt",
        "firsts",
        "inbio",
        "inbuf",
        "media",
        "name",
        "outbio",
        "outbuf",
        "ready_at",
        "sock",
        "state",
        "tls",
    )

    def __init__(self, name: str, media: dict[bytes, str]) -> None:
        self.name = name
        self.media = media
        self.sock: socket.socket | None = None
        # TLS over memory buffers: one recv(2) per wake-up takes every record queued on the socket, where
        # an SSLSocket makes two per record (header, body): that was half of the simulator's CPU
        self.tls: Any = None
        self.inbio = ssl.MemoryBIO()
        self.outbio = ssl.MemoryBIO()
        self.state = IDLE
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.attempt = 0
        self.ready_at = 0.0  # when its last SUBACK came
        self.firsts: dict[int, float] = {}  # SSRC -> arrival of its first frame


class Fleet:
    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        self.topics = Topics(config.prefix)
        self.rng = random.Random(config.seed)
        self.context = ssl.create_default_context(cafile=config.ca_file)
        self.sel = select.epoll()  # selectors' per-event key objects cost ~10% here
        self.clusters = [
            Cluster(name, {self.topics.media(g).encode(): g for g in groups})
            for name, groups in config.clusters
        ]
        self.index = {c.name: i for i, c in enumerate(self.clusters)}
        self.by_fd: dict[int, Cluster] = {}
        self.timers: list[tuple[float, int]] = [(0.0, i) for i in range(len(self.clusters))]
        self.pending_connects = 0
        self.maps: dict[int, tuple[float, int, LabelStats]] = {}  # SSRC -> (wall, RTP ts, stats)
        self.labels: dict[str, LabelStats] = {}
        self.per_ssrc: dict[int, int] = {}  # frames received per SSRC (all clusters)
        self.parsed: dict[bytes | memoryview, Parsed] = {}
        self.unknown: list[tuple[int, int, float]] = []  # frames of a stream whose mapping is not here yet
        self.counters = {"attempts": 0, "failures": 0, "refused": 0, "sub_refused": 0, "bundles": 0}
        self.counters |= {"malformed": 0, "unexpected": 0, "unknown_dropped": 0}
        self.reasons: dict[str, int] = {}

    # --- connections

    def start_due(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now and self.pending_connects < self.config.in_flight:
            _, i = heapq.heappop(self.timers)
            self.connect(self.clusters[i])

    def connect(self, c: Cluster) -> None:
        self.counters["attempts"] += 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex((self.config.host, self.config.port))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self.schedule(c, f"connect: {errno.errorcode.get(err, err)}")
            return
        c.sock, c.state = sock, CONNECTING
        c.inbuf.clear()
        c.outbuf.clear()
        self.pending_connects += 1
        self.by_fd[sock.fileno()] = c
        self.sel.register(sock.fileno(), select.EPOLLOUT)

    def schedule(self, c: Cluster, reason: str) -> None:
        """Closes what is open and retries after the client's backoff (reset once it had been up)."""
        if c.sock is not None:
            fd = c.sock.fileno()
            self.sel.unregister(fd)
            del self.by_fd[fd]
            c.sock.close()
            c.sock = None
            self.counters["failures"] += 1
        if c.state not in (IDLE, READY):
            self.pending_connects -= 1
        if c.state == READY:
            c.attempt = 0
        c.state = IDLE
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        delay = backoff_delay(c.attempt, _DEFAULTS.backoff_min_s, _DEFAULTS.backoff_max_s, self.rng)
        c.attempt += 1
        heapq.heappush(self.timers, (time.time() + delay, self.index[c.name]))

    def send(self, c: Cluster, data: bytes) -> None:
        c.tls.write(data)
        self.flush(c)

    def flush(self, c: Cluster) -> None:
        """What TLS has to send (records, handshake messages) to the socket, as far as it takes it."""
        assert c.sock is not None
        c.outbuf += c.outbio.read()
        try:
            while c.outbuf:
                n = c.sock.send(c.outbuf)
                del c.outbuf[:n]
        except BlockingIOError:
            pass
        self.sel.modify(c.sock.fileno(), select.EPOLLIN | (select.EPOLLOUT if c.outbuf else 0))

    def on_event(self, c: Cluster, mask: int, now: float) -> None:
        assert c.sock is not None
        try:
            if c.state == CONNECTING:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    self.schedule(c, f"connect: {errno.errorcode.get(err, err)}")
                    return
                c.inbio, c.outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
                c.tls = self.context.wrap_bio(c.inbio, c.outbio, server_hostname="localhost")
                c.state = HANDSHAKE
                self.handshake(c)
                return
            if mask & select.EPOLLOUT and c.outbuf:
                self.flush(c)
            if mask & select.EPOLLIN:
                self.read(c, now)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError; ValueError: a bad packet
            self.schedule(c, type(exc).__name__)

    def handshake(self, c: Cluster) -> None:
        try:
            c.tls.do_handshake()
        except ssl.SSLWantReadError:
            self.flush(c)
            return
        c.state = CONNACK
        will = wire.WillSpec(self.topics.status(c.name), Status.offline().serialize())
        self.send(c, wire.connect(c.name, self.config.password, self.config.keepalive_s, will))

    def read(self, c: Cluster, now: float) -> None:
        assert c.sock is not None
        try:
            data = c.sock.recv(262144)
        except BlockingIOError:
            return
        if not data:
            self.schedule(c, "closed by the broker")
            return
        c.inbio.write(data)
        if c.state == HANDSHAKE:
            self.handshake(c)
            if c.state == HANDSHAKE:
                return
        try:
            while chunk := c.tls.read(262144):  # b"": the broker closed TLS (close_notify)
                c.inbuf += chunk
        except ssl.SSLWantReadError:  # the rest of a record is still on its way
            pass
        for ptype, flags, body in wire.split(c.inbuf):
            if ptype == wire.PUBLISH:
                topic, payload = wire.publish_parts(flags, body)
                if topic in c.media:
                    self.frames(c, payload, now)
                else:
                    self.counters["unexpected"] += 1
            elif ptype == wire.CONNACK:
                reason = wire.connack_reason(body)
                if reason:
                    self.counters["refused"] += 1
                    self.schedule(c, f"CONNACK {reason:#x}")
                    return
                c.state = SUBACK
                status = wire.publish(self.topics.status(c.name), Status(State.ONLINE).serialize(), 1, True)
                self.send(c, wire.subscribe(1, [t.decode() for t in c.media]) + status)
            elif ptype == wire.SUBACK:
                _, reasons = wire.suback_reasons(body)
                if any(r >= 0x80 for r in reasons):
                    self.counters["sub_refused"] += 1
                c.state, c.ready_at = READY, now
                self.pending_connects -= 1
            elif ptype == wire.DISCONNECT:
                self.schedule(c, "DISCONNECT from the broker")
                return

    # --- frames

    def frames(self, c: Cluster, payload: memoryview, now: float) -> None:
        """Checks every frame of one bundle as this cluster received it at ``now``.

        The clusters of a group receive the same bytes, so a bundle is parsed once and its frames' playout
        times kept (``self.parsed``, keyed by the payload): per cluster, a bundle whose earliest frame is
        on time is counted whole; otherwise each frame is compared. The slack histogram takes each
        bundle's earliest frame for all of its frames: up to 80 ms low for the others, never high."""
        parsed = self.parsed.get(payload)
        if parsed is None:
            try:
                heads = wire.rtp_headers(payload)
            except ValueError:
                self.counters["malformed"] += 1
                return
            if any(h[0] not in self.maps for h in heads):
                self.unmapped(c, heads, now)
                return
            if len(self.parsed) > 50_000:
                self.parsed.clear()
            parsed = self.parsed[payload.tobytes()] = self.parse(heads)
        self.counters["bundles"] += 1
        deadlines, earliest, per_stream = parsed
        if not deadlines:  # RTCP only (a sender report or a BYE)
            return
        firsts, per_ssrc = c.firsts, self.per_ssrc
        on_time = now <= earliest
        bin_ = min(HIST_BINS - 1, max(0, int((earliest - now - HIST_LOW) / HIST_STEP)))
        for ssrc, n, stats in per_stream:
            if ssrc not in firsts:
                firsts[ssrc] = now
            per_ssrc[ssrc] = per_ssrc.get(ssrc, 0) + n
            stats.frames += n
            stats.hist[bin_] += n
        if not on_time:
            for deadline, stats in deadlines:
                if deadline < now:
                    stats.late += 1

    def parse(self, heads: list[tuple[int, int, int]]) -> Parsed:
        deadlines: list[tuple[float, LabelStats]] = []
        per_stream: dict[int, tuple[int, LabelStats]] = {}
        for ssrc, ts, _ in heads:
            wall0, rtp0, stats = self.maps[ssrc]
            deadline = wall0 + (((ts - rtp0 + _HALF) & _MASK) - _HALF) / 48000 + self.config.delay_s
            deadlines.append((deadline, stats))
            n, _ = per_stream.get(ssrc, (0, stats))
            per_stream[ssrc] = (n + 1, stats)
        earliest = min((d for d, _ in deadlines), default=float("inf"))
        return deadlines, earliest, [(ssrc, n, stats) for ssrc, (n, stats) in per_stream.items()]

    def unmapped(self, c: Cluster, heads: list[tuple[int, int, int]], now: float) -> None:
        """A bundle with a stream the bench has not described yet (its mapping is on its way)."""
        self.counters["bundles"] += 1
        for ssrc, ts, _ in heads:
            c.firsts.setdefault(ssrc, now)
            self.per_ssrc[ssrc] = self.per_ssrc.get(ssrc, 0) + 1
            m = self.maps.get(ssrc)
            if m is not None:
                self.check(m, ts, now, self.config.delay_s)
            elif len(self.unknown) < 1_000_000:
                self.unknown.append((ssrc, ts, now))
            else:
                self.counters["unknown_dropped"] += 1

    @staticmethod
    def check(m: tuple[float, int, LabelStats], ts: int, arrival: float, delay: float) -> None:
        wall0, rtp0, stats = m
        slack = wall0 + (((ts - rtp0 + _HALF) & _MASK) - _HALF) / 48000 + delay - arrival
        stats.frames += 1
        if slack < 0:
            stats.late += 1
        stats.hist[min(HIST_BINS - 1, max(0, int((slack - HIST_LOW) / HIST_STEP)))] += 1

    def add_map(self, ssrc: int, wall0: float, rtp0: int, label: str) -> None:
        stats = self.labels.setdefault(label, LabelStats())
        self.maps[ssrc] = (wall0, rtp0, stats)
        waiting = [u for u in self.unknown if u[0] == ssrc]
        if waiting:
            self.unknown = [u for u in self.unknown if u[0] != ssrc]
            for _, ts, arrival in waiting:
                self.check(self.maps[ssrc], ts, arrival, self.config.delay_s)

    # --- control

    def status(self, since: float) -> dict[str, Any]:
        ready = [c.ready_at for c in self.clusters if c.state == READY]
        return {
            "clusters": len(self.clusters),
            "ready": len(ready),
            "ready_since": sorted(t - since for t in ready if t >= since),
            "counters": dict(self.counters),
            "reasons": dict(self.reasons),
        }

    def stats(self) -> dict[str, Any]:
        firsts: dict[int, list[float]] = {}
        for c in self.clusters:
            for ssrc, t in c.firsts.items():
                firsts.setdefault(ssrc, []).append(t)
        return {
            "labels": {
                k: {"frames": s.frames, "late": s.late, "hist": s.hist} for k, s in self.labels.items()
            },
            "per_ssrc": self.per_ssrc,
            "first_arrival": {ssrc: (len(ts), max(ts)) for ssrc, ts in firsts.items()},
            "unmapped": len(self.unknown),
            "counters": dict(self.counters),
        }

    def close(self) -> None:
        for c in self.clusters:
            if c.sock is not None and c.state == READY:
                with contextlib.suppress(OSError):
                    c.tls.write(wire.DISCONNECT_PACKET)
                    c.sock.send(c.outbio.read())
            if c.sock is not None:
                c.sock.close()


def run(conn: Connection, config: FleetConfig) -> None:
    """A worker's main: the loop, until the bench sends ("stop",)."""
    raise_fd_limit()
    fleet = Fleet(config)
    fleet.sel.register(conn.fileno(), select.EPOLLIN)
    ping_every, last_ping = config.keepalive_s / 2, time.time()
    tick = 0.0
    while True:
        now = time.time()
        time.sleep(max(0.0, config.tick_s - (now - tick)))
        now = tick = time.time()
        fleet.start_due(now)
        wait = 0.05 if not fleet.timers else max(0.0, min(0.05, fleet.timers[0][0] - now))
        events = fleet.sel.poll(wait, len(fleet.clusters) + 1)  # the default stops at 1,023
        now = time.time()  # every arrival of this wake-up is timed after it happened, never before
        for fd, mask in events:
            c = fleet.by_fd.get(fd)
            if c is not None and c.state == READY and mask == select.EPOLLIN:
                try:
                    fleet.read(c, now)
                except (OSError, ValueError) as exc:
                    fleet.schedule(c, type(exc).__name__)
                continue
            if fd == conn.fileno():
                request = conn.recv()
                if request[0] == "stop":
                    fleet.close()
                    conn.send("stopped")
                    return
                if request[0] == "map":
                    fleet.add_map(*request[1:])
                elif request[0] == "status":
                    conn.send(fleet.status(request[1]))
                elif request[0] == "stats":
                    conn.send(fleet.stats())
                continue
            if c is not None:
                fleet.on_event(c, mask, now)
        if now - last_ping > ping_every:  # nothing else goes up a cluster's link: keep it alive
            last_ping = now
            for c in fleet.clusters:
                if c.state == READY:
                    try:
                        fleet.send(c, wire.PINGREQ_PACKET)
                    except OSError as exc:
                        fleet.schedule(c, type(exc).__name__)
