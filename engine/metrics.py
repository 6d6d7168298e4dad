"""The server's one Prometheus registry and the metrics that belong to the server itself.

Synthesis (engine/tts) and streaming (streaming/) register their own metrics on the registry they are
handed, so a process has one /metrics page. Labels stay bounded: method, code, priority, group.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class ServerMetrics:
    registry: CollectorRegistry
    rpc_total: Counter
    rpc_seconds: Histogram
    queue_depth: Gauge
    on_air: Gauge
    request_to_first_packet_seconds: Histogram
    request_to_playout_seconds: Histogram
    start_lateness_seconds: Histogram
    broadcasts_total: Counter
    preemptions_total: Counter
    speakers_online: Gauge
    speaker_loss_ratio: Gauge
    speaker_jitter_seconds: Gauge
    speaker_round_trip_seconds: Gauge
    speaker_playout_offset_seconds: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> ServerMetrics:
        r = registry if registry is not None else CollectorRegistry()
        return cls(
            registry=r,
            rpc_total=Counter("loa_rpc", "gRPC calls handled", ["method", "code"], registry=r),
            rpc_seconds=Histogram(
                "loa_rpc_duration_seconds",
                "gRPC call latency",
                ["method"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            queue_depth=Gauge("loa_queue_depth", "Broadcasts waiting to air", ["priority"], registry=r),
            on_air=Gauge("loa_broadcasts_on_air", "Broadcasts on air now", ["priority"], registry=r),
            request_to_first_packet_seconds=Histogram(
                "loa_request_to_first_packet_seconds",
                "From CreateBroadcast (or its start time) to the first RTP packet sent",
                ["priority"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            request_to_playout_seconds=Histogram(
                "loa_request_to_playout_seconds",
                "From CreateBroadcast (or its start time) to the scheduled playout of its first sample",
                ["priority"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            start_lateness_seconds=Histogram(
                "loa_start_lateness_seconds",
                "How late a scheduled broadcast started against its start time",
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
                registry=r,
            ),
            broadcasts_total=Counter(
                "loa_broadcasts", "Broadcasts that ended, by final state", ["priority", "state"], registry=r
            ),
            preemptions_total=Counter(
                "loa_preemptions", "Broadcasts held back by a higher priority", ["priority"], registry=r
            ),
            speakers_online=Gauge("loa_speakers_online", "Speakers heard within 15 s", ["group"], registry=r),
            speaker_loss_ratio=Gauge(
                "loa_speaker_loss_ratio", "Mean fraction lost in the last reports", ["group"], registry=r
            ),
            speaker_jitter_seconds=Gauge(
                "loa_speaker_jitter_seconds", "Worst interarrival jitter reported", ["group"], registry=r
            ),
            speaker_round_trip_seconds=Gauge(
                "loa_speaker_round_trip_seconds", "Worst round-trip time", ["group"], registry=r
            ),
            speaker_playout_offset_seconds=Gauge(
                "loa_speaker_playout_offset_seconds",
                "Largest |measured - intended| playout time reported",
                ["group"],
                registry=r,
            ),
        )


def serve_http(registry: CollectorRegistry, port: int, address: str = "127.0.0.1") -> object:
    """Starts /metrics on its own port; returns the server (call .shutdown() to stop)."""
    server, _thread = start_http_server(port, addr=address, registry=registry)
    return server
