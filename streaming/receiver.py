"""The speaker agent (``loa speaker``): joins groups, plays in sync, reports back, syncs its clock.

Threads: one network thread (every group's RTP and RTCP socket, plus a control socket for receiver
reports and time-sync requests, in one ``select`` loop) and one playout thread that renders a 20 ms
block at each block's start time on the speaker's clock and hands it to the sink (see playout.py).

Receiver reports (RR + SDES CNAME + Loa's LOAR status) go to the sender's feedback address every
``report_interval``: the source address of its sender reports unless ``feedback`` names one. With
``time_sync`` set, the speaker does not trust its own clock: it asks that address (the sender's
feedback port) for NTP-style timestamps and uses the filtered offset (timesync.py); without it, the
system clock is taken as synchronized (NTP/PTP in the field). With ``broker_time`` the same exchange runs
over the broker connection instead (``loa speaker --broker-time``: a cluster behind 4G NAT cannot be
reached by RTCP); both feed one :class:`TimeSyncClient`. The groups' datagrams come from a
:class:`UdpSource` (source.py) and go through :meth:`SpeakerAgent.deliver` into the ingress. With
``broker`` (streaming/broker/provision.py; a speaker behind 4G NAT) a :class:`BrokerSource` subscribes to
the groups' media topics and feeds the same :meth:`deliver` from its own thread; a datagram that comes on
both paths plays once and is not counted as a replay (ingress.py, ``PathCopies``).

With ``keys`` (a provisioning file, see keyring.py) every group is SRTP-only: what fails authentication,
replay or key checks is dropped before the jitter buffer and counted (metrics ``outcome`` label, the
summary's ``srtp`` block, and the ``rejected_packets`` field of the LOAR status sent to the server). A
new SSRC then plays only after a sender report whose NTP time is the present on the sender's clock as
this speaker knows it (system clock, or time sync; see playout.py): an authentic replay of an old broadcast
cannot take the group from the live one (playout.py; counted in the summary's ``gate`` block). The
file is re-read when it changes and on :meth:`SpeakerAgent.reload_keys` (SIGHUP). With keys the speaker's
own receiver reports are SRTCP under the key of the group the stream came on: the sender shows only
speakers whose reports authenticate (report_auth.py, feedback.py), so no one can fake a live speaker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import secrets
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streaming import rtcp
from streaming.broker.presence import Presence, error_state, read_temperature
from streaming.clock import Clock
from streaming.ingress import MAX_DATAGRAM, Ingress
from streaming.keyring import Keyring
from streaming.playlog import REPORTS_FILE, PlayLog, Present, ReportQueue
from streaming.playout import PlayedFrame, Playout
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES
from streaming.sdp import GroupSpec
from streaming.sinks import Sink
from streaming.source import UdpSource
from streaming.speaker_log import SpeakerLog
from streaming.srtp import SrtpError
from streaming.time_auth import TimeReplyGate
from streaming.timesync import BROKER_SCHEDULE, TimeSyncClient

if TYPE_CHECKING:
    from streaming.broker.provision import BrokerProvision


@dataclass
class SpeakerConfig:
    groups: list[GroupSpec]
    name: str = field(default_factory=socket.gethostname)
    interface: str = "0.0.0.0"  # IPv4 address of the interface that joins the groups
    time_sync: tuple[str, int] | None = None
    feedback: tuple[str, int] | None = None
    report_interval: float = 1.0
    clock: Clock = field(default_factory=Clock)
    log_frames: bool = True  # keep every played frame for the sink's summary (tests, diagnostics)
    keys: str | None = None  # provisioning file: every group must be SRTP with these keys
    keys_in_bundle: bool = False  # ``keys`` is a broker provisioning bundle that carries the keys
    sr_tolerance: float = 5.0  # with keys: how far ahead of now a new stream's sender report may be
    broker: BrokerProvision | None = None  # also receive the groups through an MQTT broker
    broker_time: bool = False  # sync the clock with Loa's time exchange over the broker (no NTP)
    network: str = ""  # with broker: what the status says the cluster is on (4g, 3g, lan, vpn)
    multicast: bool = True  # False: broker only, no multicast socket (the groups' ADDR:PORT are names)
    cache_dir: str | None = None  # with broker: keep bulletins delivered ahead here (broker/cache.py)
    cache_bytes: int = 64 * 1024 * 1024


def _bundle_keys(text: str) -> str:
    from streaming.broker.provision import bundle_keys  # paho only where a broker is used

    return bundle_keys(text)


class SpeakerAgent:
    def __init__(self, config: SpeakerConfig, sink: Sink, registry: Any | None = None) -> None:
        self.config = config
        self.clock = config.clock
        self.sink = sink
        self.playout = Playout(config.groups, sr_tolerance=config.sr_tolerance if config.keys else None)
        extract = _bundle_keys if config.keys_in_bundle else None
        # key expiry on the speaker's own clock (the system clock an attacker may have set back): what
        # bounds a replay is that an expired key is no longer in the keys file at all (keys.py lifetimes)
        self.keyring = (
            Keyring(config.keys, list(self.playout.groups), extract=extract, clock=self.clock.now)
            if config.keys
            else None
        )
        self.ssrc = secrets.randbits(32)
        if config.broker_time and (config.broker is None or config.time_sync is not None):
            raise ValueError("broker time needs a broker and excludes --time-sync")
        self.timesync = (
            TimeSyncClient(self.clock, ssrc=self.ssrc, schedule=BROKER_SCHEDULE)
            if config.broker_time
            else TimeSyncClient(self.clock, ssrc=self.ssrc)
            if config.time_sync
            else None
        )
        self._time_gate = (
            TimeReplyGate(config.time_sync, self.keyring, lambda: self._deliver_lock)
            if config.time_sync is not None
            else None
        )
        self.frames: list[PlayedFrame] = []
        self.underruns = 0
        self.playing_priority = 0
        self.blocks = 0
        self._handoff_sum = 0.0
        self._handoff_n = 0
        self._lock = threading.Lock()
        self.ingress = Ingress(self.playout, self.keyring, self._lock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._control = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._control.bind(("0.0.0.0", 0))
        self.metrics = None
        if registry is not None:
            from streaming.metrics import SpeakerMetrics

            self.metrics = SpeakerMetrics(registry)
        if not config.multicast and config.broker is None:
            raise ValueError("a speaker without multicast needs a broker")
        self.source = UdpSource(config.groups if config.multicast else [], config.interface)
        # the network thread and the broker's thread both deliver: SRTP state is not shared safely
        self._deliver_lock = threading.Lock()
        self.injector: Any = None  # broker/cache.py Injector, with a broker and a cache_dir
        self.presence = Presence(config.network)
        self.playlog = PlayLog()
        kept = Path(config.cache_dir) / REPORTS_FILE if config.cache_dir is not None else None
        self.report_queue = ReportQueue(path=kept)  # with a cache dir, reports outlive a power cut
        self._next_presence = 0.0
        self.broker_source = self._broker_source(config.broker) if config.broker else None
        self.log = SpeakerLog(self)  # stderr lines per event, never per packet (docs/LOGGING.md)

    def _broker_source(self, provision: BrokerProvision) -> Any:
        from streaming.broker.subscriber import BrokerSource  # paho only where a broker is used

        names = provision.addresses()
        unknown = sorted(set(names.values()) - set(self.playout.groups))
        if unknown:
            raise ValueError(f"broker groups {unknown} are not among the speaker's groups")

        def on_datagram(group_id: str, data: bytes, is_rtcp: bool, arrival: float) -> None:
            # RTP and RTCP share the ingress, which tells them apart by packet type as on a muxed port
            self.deliver(names[group_id], data, None, path="broker")

        on_ahead = None
        if self.config.cache_dir is not None:
            from streaming.broker.cache import AheadCache, Injector

            cache = AheadCache(Path(self.config.cache_dir), self.config.cache_bytes)
            self.injector = Injector(
                cache,
                lambda group_id, data: self.deliver(names[group_id], data, None, path="cache"),
                self._sender_now,
                self._missed,
            )
            on_ahead = cache.on_message

        return BrokerSource(
            provision.settings(),
            provision.topics(),
            list(names),
            on_datagram,
            on_time=self._on_broker_time if self.config.broker_time else None,
            status=self._status,
            on_ahead=on_ahead,
            wall=self.clock.now,  # t1 and t4 on the clock being synced
        )

    def _on_broker_time(self, reply: Any, t4: float) -> None:
        """A time reply the broker source matched to an outstanding nonce (on the broker's thread)."""
        assert self.timesync is not None
        if self.timesync.add(reply.t1, reply.t2, reply.t3, t4) and self.metrics is not None:
            self.metrics.clock_offset.set(self.timesync.estimator.offset)

    def _sender_now(self) -> float | None:
        """The sender's clock as this speaker knows it (None while time sync has no sample)."""
        offset = self.offset()
        return None if offset is None else self.clock.now() + offset

    def _missed(self, item: Any) -> None:
        """A bulletin delivered ahead whose time passed before it could play: reported as missed, through
        the same queue as the play reports (the network thread sends it; it waits while the link is down)."""
        from streaming.broker.messages import PlayReport, StopReason

        report = PlayReport(
            item.bulletin, item.airing, item.start_time, item.start_time, 0, 0, 0, StopReason.MISSED
        )
        with self._lock:
            self.report_queue.push(report)

    def reload_keys(self) -> None:
        """Re-reads the keys file at the network thread's next turn (signal-handler safe)."""
        if self.keyring is not None:
            self.keyring.request_reload()

    def offset(self) -> float | None:
        """Sender clock minus local clock; None while time sync has no sample yet."""
        return 0.0 if self.timesync is None else self.timesync.offset

    def start(self) -> SpeakerAgent:
        self.log.started()
        self._threads = [
            threading.Thread(target=self._network, name="loa-speaker-net", daemon=True),
            threading.Thread(target=self._play, name="loa-speaker-playout", daemon=True),
        ]
        for t in self._threads:
            t.start()
        if self.broker_source is not None:
            self.broker_source.start()
        if self.injector is not None:
            self.injector.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=3)
        if self.injector is not None:
            self.injector.stop()
        with self._lock:
            for report in self.playlog.stop():  # what was still playing ends STOPPED
                self.report_queue.push(report)
        self._send_play_reports()  # before the clean disconnect, which lets queued QoS 1 messages out
        if self.broker_source is not None:
            self.broker_source.stop()
        self.source.close()
        self._control.close()
        self.sink.close(self.summary())
        self.log.stopped()

    def run(self, duration: float | None = None) -> None:
        self.start()
        try:
            self._stop.wait(duration)
        finally:
            self.stop()

    def summary(self) -> dict[str, Any]:
        with self._lock:
            streams = {
                s.ssrc: {"counts": dict(s.counts), "late": s.late, "duplicates": s.duplicates}
                for s in self.playout.streams.values()
            }
        return {
            "name": self.config.name,
            "frames": [[f.ssrc, f.rtp, f.index, f.kind, f.priority] for f in self.frames],
            "underruns": self.underruns,
            "blocks": self.blocks,
            "offset": self.offset(),
            "clock": dataclasses.asdict(self.clock) if dataclasses.is_dataclass(self.clock) else None,
            "streams": streams,
            "path_copies": self.ingress.path_copies,
            "multicast_sockets": len(self.source.sockets),
            **({"timesync": self._timesync_status()} if self.timesync else {}),
            "play_reports": [json.loads(r.serialize()) for r in self.playlog.reports],
            "reports_queued": len(self.report_queue),
            **({"broker": dict(vars(self.broker_source.counters))} if self.broker_source else {}),
            **({"cache": dict(vars(self.injector.cache.counters))} if self.injector else {}),
            **({"srtp": self._srtp_status(), "gate": self._gate_status()} if self.keyring else {}),
        }

    def _timesync_status(self) -> dict[str, Any]:
        assert self.timesync is not None
        e = self.timesync.estimator
        return {
            "samples": self.timesync.samples,
            "unmatched": self.timesync.unmatched,
            "jumps_ignored": e.jumps_ignored,
            "steps": e.steps,
            "path": "rtcp" if self.config.time_sync else "broker",
            **({"rejected": dict(self._time_gate.rejected)} if self._time_gate is not None else {}),
        }

    def _gate_status(self) -> dict[str, int]:
        with self._lock:
            p = self.playout
            return {
                "admitted": p.admitted,
                "stale_reports": p.stale_reports,
                "unverified": p.unverified,
                "pending": len(p.pending),
            }

    def rejected(self) -> int:
        """Datagrams refused for security: SRTP drops, and a new stream's stale reports and their RTP."""
        if self.keyring is None:
            return 0
        return self.keyring.rejected + self.playout.stale_reports + self.playout.unverified

    def _srtp_status(self) -> dict[str, Any]:
        assert self.keyring is not None
        return {
            "groups": self.keyring.status(),
            "rejected": self.keyring.rejected,
            "groups_without_keys": self.keyring.missing,
            "reloads": self.keyring.reloads,
            "reload_errors": self.keyring.reload_errors,
            "last_reload_error": self.keyring.last_error,
        }

    # --- playout thread ---

    def _play(self) -> None:
        lead = float(getattr(self.sink, "lead", 0.0))
        index = (math.ceil(self.clock.now() * CLOCK_RATE / FRAME_SAMPLES) + 1) * FRAME_SAMPLES
        self.sink.begin(index, index / CLOCK_RATE, self.clock.true(index / CLOCK_RATE))
        while not self._stop.is_set():
            due = index / CLOCK_RATE - lead
            self.clock.sleep_until(due)
            handoff = self.clock.now() - due
            with self._lock:
                offset = self.offset()
                block = self.playout.render(index, offset)
                gone = self.playout.expire(self.clock.now())
                if offset is not None:
                    self._log_block(index, offset, block, gone)
            self.sink.write(block.samples)
            self.blocks += 1
            self._handoff_sum += handoff
            self._handoff_n += 1
            self.underruns += block.underrun
            self.playing_priority = block.playing_priority
            if self.config.log_frames:
                self.frames.extend(block.frames)
            if self.metrics is not None:
                self.metrics.on_block(block, len(self.playout.streams), len(gone))
            index += FRAME_SAMPLES

    def _log_block(self, index: int, offset: float, block: Any, gone: list[Any]) -> None:
        """Feeds the play log (under the lock); reports of streams that left join the queue."""
        streams = self.playout.streams.values()
        present = [Present(s.ssrc, s.effective_priority, s.ended_at is not None) for s in streams]
        self.playlog.on_block(
            index, offset, block.frames, block.playing_priority, present, self.playout.labels
        )
        for report in self.playlog.gone((s.ssrc, s.ended_at is not None) for s in gone):
            self.report_queue.push(report)

    def _send_play_reports(self) -> None:
        """Sends the queued play reports while the broker link is up (QoS 1); the rest wait."""
        if self.broker_source is not None and self.broker_source.client.connected.is_set():
            with self._lock:
                self.report_queue.drain(self.broker_source.publish_report)

    # --- network thread ---

    def deliver(
        self, group: str, data: bytes, source: tuple[str, int] | None, path: str = "multicast"
    ) -> None:
        """One datagram of ``group`` (``ADDR:PORT``) from a source, stamped and passed to the ingress.
        ``path`` names the source, so that the same datagram on two paths counts as a copy."""
        with self._deliver_lock:
            arrival = self.clock.now()
            outcome = self.ingress.receive(group, data, arrival, source, self.offset(), path=path)
        if self.metrics is not None:
            self.metrics.on_datagram(outcome, len(data))
        if outcome != "ok":
            self.log.on_outcome(group, outcome, data)

    def _network(self) -> None:
        readers = [*self.source.sockets, self._control]
        next_report = time.monotonic() + self.config.report_interval
        while not self._stop.is_set():
            now = time.monotonic()
            self._ask_time(now)
            self._presence_tick(now)
            self._send_play_reports()
            self.log.tick(now)
            if self.keyring is not None and self.keyring.poll(now) and self.metrics is not None:
                self.metrics.key_reloads.inc()
            if now >= next_report:
                self._send_reports()
                next_report = now + self.config.report_interval * (0.5 + secrets.randbelow(1000) / 1000)
            try:
                ready, _, _ = select.select(readers, [], [], 0.02)
            except (OSError, ValueError):
                return
            for sock in ready:
                if sock is self._control:
                    self._on_control()
                    continue
                received = self.source.read(sock)
                if received is not None:
                    self.deliver(*received)

    def error_state(self) -> str:
        """What is wrong, for the cluster's status ("" when nothing is)."""
        client = self.broker_source.client if self.broker_source is not None else None
        refused = client is not None and client.refusals > 0 and not client.connected.is_set()
        return error_state(
            refusal=client.refusal_reason if refused and client is not None else "",
            missing_keys=self.keyring.missing if self.keyring is not None else (),
            key_error=self.keyring.last_error if self.keyring is not None else "",
            clock_synced=self.timesync is None or self.timesync.ready,
        )

    def _status(self) -> Any:
        """The retained status the broker source publishes (on connect, and from _presence_tick)."""
        return self.presence.status(time.monotonic(), self.error_state(), read_temperature())

    def _presence_tick(self, now: float) -> None:
        """Re-publishes the status when the error state changed or a minute passed (at most once a second)."""
        if self.broker_source is None or now < self._next_presence:
            return
        self._next_presence = now + 1.0
        if self.broker_source.client.connected.is_set() and self.presence.due(now, self.error_state()):
            self.broker_source.publish_status()

    def _ask_time(self, now: float) -> None:
        """Sends a time request when one is due: over RTCP to the sender, or through the broker."""
        if self.timesync is None:
            return
        if self.config.time_sync is not None:
            request = self.timesync.request(now)
            gate = self._time_gate
            sealed = gate.seal(request) if request is not None and gate is not None else None
            if sealed is not None:
                with contextlib.suppress(OSError):
                    self._control.sendto(sealed, self.config.time_sync)
        elif (
            self.broker_source is not None
            and self.broker_source.client.connected.is_set()  # the fast start waits for the link
            and self.timesync.due(now)
        ):
            self.broker_source.request_time()

    def _on_control(self) -> None:
        try:
            data, source = self._control.recvfrom(MAX_DATAGRAM)
        except OSError:
            return
        arrival = self.clock.now()
        # only from the --time-sync source, and with keys only under the group key (time_auth.py)
        opened = self._time_gate.open(data, source) if self._time_gate is not None else None
        if opened is None:
            return
        try:
            packets = rtcp.parse_compound(opened)
        except ValueError:
            return
        for p in packets:
            if self.timesync is not None and self.timesync.on_packet(p, arrival) and self.metrics is not None:
                self.metrics.clock_offset.set(self.timesync.estimator.offset)

    def _send_reports(self) -> None:
        now = self.clock.now()
        mean_handoff = self._handoff_sum / self._handoff_n if self._handoff_n else 0.0
        self._handoff_sum, self._handoff_n = 0.0, 0
        with self._lock:
            streams = [s for s in self.playout.streams.values() if s.source or self.config.feedback]
            rejected = self.rejected()
            reports = []
            for s in streams:
                block = rtcp.ReportBlock(
                    s.ssrc,
                    s.stats.interval_fraction_lost(),
                    s.stats.cumulative_lost,
                    s.stats.max_seq,
                    int(s.stats.jitter),
                    s.sr_ntp_middle,
                    int((now - s.sr_arrival) * 65536) if s.sr_ntp_middle else 0,
                )
                status = rtcp.SpeakerStatus(
                    self.ssrc,
                    s.ssrc,
                    int(mean_handoff * 1e6),
                    self.underruns,
                    s.late,
                    self.playing_priority,
                    rejected,
                )
                target = self.config.feedback or s.source
                assert target is not None
                reports.append((target, block, status, s.group))
        for target, block, status, group in reports:
            compound = rtcp.serialize_compound(
                [
                    rtcp.ReceiverReport(self.ssrc, [block]),
                    rtcp.SourceDescription([(self.ssrc, {rtcp.SDES_CNAME: self.config.name.encode()[:255]})]),
                    status.to_app(),
                ]
            )
            sealed = self._seal_report(group, compound)
            if sealed is not None:
                with contextlib.suppress(OSError):
                    self._control.sendto(sealed, target)

    def _seal_report(self, group: str, compound: bytes) -> bytes | None:
        """With keys, the report as SRTCP under the group's key: the sender believes only reports from
        holders of the key (report_auth.py). None if no key is active yet (a plain one would be refused)."""
        if self.keyring is None:
            return compound
        session = self.keyring.sessions.get(group)
        if session is None:
            return None
        with self._deliver_lock:  # the SRTCP index state is shared with the ingress
            try:
                return session.protect_rtcp(compound)
            except SrtpError:
                return None
