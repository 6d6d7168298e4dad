"""The Loa server: one process that owns the store, the voices, the sender and the gRPC port.

Everything is built here from a Config and nothing else: the servicers stay thin and the core objects
(Store, Synthesizer, PacedSender, Runner) can be used without gRPC.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from engine.api import listen, reflection, server_log
from engine.api.admission import Admission, BacklogReader, Limits
from engine.api.audit import AuditLog
from engine.api.auth import AuthInterceptor, require_auth
from engine.api.broadcasts import BroadcastsServicer
from engine.api.clusters import ClustersServicer
from engine.api.groups import GroupsServicer
from engine.api.interceptors import DecodeInterceptor, ErrorInterceptor, MetricsInterceptor
from engine.api.keys import KeyLifetime, KeyStore, import_key_file
from engine.api.lexicon import LexiconServicer
from engine.api.live_voice import LiveSources, relay_factory
from engine.api.ops_metrics import QueueCollector, export_certificate_expiry
from engine.api.schedules import SchedulesServicer
from engine.api.server_info import ServerServicer
from engine.api.synthesis import SynthesisServicer
from engine.api.tls import server_credentials
from engine.api.tokens import TokenStore, ensure_bootstrap_token
from engine.broker.cluster_metrics import ClusterCollector
from engine.broker.service import BrokerService
from engine.config import Config
from engine.jobs.ahead import AheadDelivery, AheadStore
from engine.jobs.ahead_planner import AheadPlanner
from engine.jobs.errors import NotFound
from engine.jobs.model import Group
from engine.jobs.runner import Runner
from engine.jobs.scheduler import Scheduler
from engine.jobs.store import Store
from engine.jobs.validation import validate_group
from engine.live.urls import UrlPolicy
from engine.metrics import ServerMetrics, SpeakerCollector, serve_http
from engine.tts.cache import SpeechCache
from engine.tts.catalog import Catalog
from engine.tts.synthesizer import Synthesizer
from engine.tts.voices.registry import VoiceRegistry
from protos.loa.v1 import loa_pb2, loa_pb2_grpc
from streaming.pacer import PacedSender
from streaming.srtp import MasterKey

log = logging.getLogger(__name__)

SERVICES = tuple(s.full_name for s in loa_pb2.DESCRIPTOR.services_by_name.values())  # loa.v1.*
TOKEN_FILE = "admin-token"  # in the state dir, mode 0600: the first admin token, for scripts
AHEAD_DB = "ahead.db"  # bulletins delivered ahead: frames, bulky, apart from loa.db (engine/jobs/ahead.py)
MAX_MESSAGE_BYTES = 96 * 1024 * 1024  # a request over this gets RESOURCE_EXHAUSTED from gRPC itself


class LoaServer:
    def __init__(self, config: Config) -> None:
        self.config = config
        auth = require_auth(config.listen, config.auth)
        limits = Limits.from_config(config)
        listen.check_free(config.listen)  # before the store: a refused second server touches nothing
        state = Path(config.state_dir)
        state.mkdir(mode=0o700, parents=True, exist_ok=True)  # keys, tokens: see engine/db.py
        self.metrics = ServerMetrics.create()
        self.metrics.zero_rpcs(
            f"{s.name}.{m.name}" for s in loa_pb2.DESCRIPTOR.services_by_name.values() for m in s.methods
        )
        self.store = Store(state / "loa.db")
        self.admission = Admission(limits, BacklogReader(self.store.path))
        self.audit = AuditLog.in_state_dir(state)
        import_key_file(self.store, state)  # once, from servers that kept the keys in a JSON file
        # SRTP master keys of the groups, rotated every srtp_key_lifetime_s (replay freshness, #12)
        self.keys = KeyStore(self.store, lifetime=KeyLifetime.from_config(config))
        self.tokens = TokenStore.in_state_dir(state) if auth else None
        self.bootstrap_token = (
            ensure_bootstrap_token(self.tokens, state / TOKEN_FILE) if self.tokens else None
        )
        self.voices = VoiceRegistry(config.voices_path, intra_op_threads=config.intra_op_threads or None)
        self.synth = Synthesizer(
            self.voices,
            workers=config.synthesis_workers or None,
            cache=SpeechCache(max_bytes=config.cache_mb * 1024 * 1024),
            registry=self.metrics.registry,
        )
        self.sender = PacedSender(
            registry=self.metrics.registry, feedback_bind=("0.0.0.0", config.feedback_port)
        )
        # config broker: the embedded Mosquitto for clusters behind 4G NAT, and the pacer's second
        # transport: every group's datagrams also go to its broker topic (engine/broker/service.py)
        self.broker = BrokerService(config, self.store) if config.broker else None
        if self.broker is not None:
            self.sender.transports.append(self.broker.transport)
        # time requests and receiver reports come as SRTCP under a group key: the feedback port may be
        # asked about any keyed group, also before its first stream (streaming/report_auth.py)
        self.sender.feedback.auth.directory = self._keyed_groups
        # with the broker: scheduled bulletins synthesized, stored and published to clusters ahead of time
        self.ahead = self._ahead_planner(state) if self.broker is not None else None
        # schedules' occurrences become broadcasts ahead of time, on the runner's passes (scheduler.py)
        self.scheduler = Scheduler(self.store, ahead_lead_s=config.ahead_lead_s)
        # live segments' sources: relays (engine/live/relay.py) and live voices (AirLiveVoice)
        policy = UrlPolicy.parse(h for h in config.live_allowed_hosts.split(",") if h.strip())
        self.live = LiveSources(relay_factory(policy), policy)
        self.runner = Runner(
            self.store,
            self.synth,
            self.sender,
            self.metrics,
            cname=config.cname,
            key_source=self.keys.key_source,
            ahead=self.ahead,
            scheduler=self.scheduler,
            live_feed=self.live.open_feed,
        )
        self.health = health.HealthServicer()
        self.grpc = grpc.server(
            futures.ThreadPoolExecutor(max_workers=config.grpc_threads, thread_name_prefix="loa-grpc"),
            # Outermost first: count every call, refuse undecodable requests before reading their fields;
            # innermost, what a servicer raises becomes its status (which the outer ones then see).
            interceptors=[
                MetricsInterceptor(self.metrics),
                DecodeInterceptor(),
                AuthInterceptor(self.tokens, self.audit),
                ErrorInterceptor(),
            ],
            # Calls waiting for a thread beyond this get gRPC's own RESOURCE_EXHAUSTED.
            maximum_concurrent_rpcs=config.grpc_threads * 8,
            # no SO_REUSEPORT: a second server on this address must fail, not share its clients
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), *listen.OPTIONS],
        )
        self.synthesis = SynthesisServicer(self.synth, Catalog.load(), self.admission, self.store.lexicon)
        loa_pb2_grpc.add_SynthesisServicer_to_server(self.synthesis, self.grpc)
        loa_pb2_grpc.add_LexiconServicer_to_server(LexiconServicer(self.store), self.grpc)
        broadcasts = BroadcastsServicer(self.store, self.voices, self.runner.wake, self.admission, self.live)
        loa_pb2_grpc.add_BroadcastsServicer_to_server(broadcasts, self.grpc)
        schedules = SchedulesServicer(
            self.store, self.scheduler, broadcasts._check_references, config.zone_name, self.runner.wake
        )
        loa_pb2_grpc.add_SchedulesServicer_to_server(schedules, self.grpc)
        groups = GroupsServicer(
            self.store,
            self.sender,
            self.sender.groups_of,
            self.runner.wake,
            keys=self.keys,
            srtp_new_groups=config.srtp,
        )
        loa_pb2_grpc.add_GroupsServicer_to_server(groups, self.grpc)
        self.metrics.registry.register(
            SpeakerCollector(groups.samples, groups.group_ids, self.sender.group_streams)
        )
        broker = self.broker
        clusters = ClustersServicer(self.store, broker, self.keys)
        loa_pb2_grpc.add_ClustersServicer_to_server(clusters, self.grpc)
        self.metrics.registry.register(
            ClusterCollector(
                self.store,
                broker.message_counts if broker else None,
                (lambda: broker.intake.reports) if broker else None,
            )
        )
        loa_pb2_grpc.add_ServerServicer_to_server(ServerServicer(config.zone_name), self.grpc)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        reflection.enable((*SERVICES, health.SERVICE_NAME), self.grpc)  # v1 and v1alpha
        self.metrics.registry.register(QueueCollector(lambda: self.store.active_broadcasts(with_audio=False)))
        if config.tls_cert and config.tls_key:
            creds = server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca)
            export_certificate_expiry(self.metrics.registry, config.tls_cert)
            self.port = listen.bind(self.grpc, config.listen, creds)
        else:
            self.port = listen.bind(self.grpc, config.listen)
        self._metrics_http: WSGIServer | None = None

    def _keyed_groups(self) -> dict[str, Callable[[], list[MasterKey]]]:
        return {g: functools.partial(self.keys.keys, g) for g in self.keys.groups()}

    def _ahead_planner(self, state: Path) -> AheadPlanner:
        assert self.broker is not None
        delivery = AheadDelivery(
            AheadStore(state / AHEAD_DB), self.broker, self.broker.topics, self.keys.key_source,
            cname=self.config.cname, sr_interval=self.sender.sr_interval, spread=self.sender.spread,
        )  # fmt: skip
        return AheadPlanner(self.store, self.synth, delivery, lead_s=self.config.ahead_lead_s)

    def start(self) -> LoaServer:
        self._ensure_groups()
        if self.broker is not None:
            self.broker.start()
        if self.ahead is not None:
            self.ahead.start()  # after the broker: items a previous run prepared are republished
        self.sender.start()
        self.runner.start()
        self.grpc.start()
        if self.config.metrics_port:
            self._metrics_http = serve_http(
                self.metrics.registry, self.config.metrics_port, self.config.metrics_address
            )
        for name in ("", *SERVICES):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        server_log.started(self.config, self.port)
        return self

    def _ensure_groups(self) -> None:
        """Groups named in the config file are created on start when missing (never overwritten)."""
        for i, data in enumerate(self.config.groups):
            try:
                group = validate_group(Group(**data))
            except TypeError as exc:
                raise ValueError(f"config groups[{i}]: {exc}") from None
            try:
                self.store.get_group(group.id)
            except NotFound:
                self.store.create_group(group, srtp=self.config.srtp)

    def stop(self, grace_s: float = 5.0) -> None:
        """Stops taking calls, lets what is on air finish for grace_s, saves where the rest was cut."""
        server_log.stopping(grace_s)
        self.health.enter_graceful_shutdown()
        self.grpc.stop(grace_s).wait(grace_s + 1)
        self.runner.stop(grace_s)
        if self.ahead is not None:
            self.ahead.stop()
        self.sender.close()
        if self.broker is not None:
            self.broker.stop()  # after the pacer: its broker transport flushed the last bundles
        self.synth.close()
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
            self._metrics_http.server_close()  # frees the port now, not when collected
        self.admission.close()
        self.store.close()
        if self.ahead is not None:
            self.ahead.delivery.store.close()
        self.audit.close()
        if self.tokens is not None:
            self.tokens.close()
        server_log.stopped()
