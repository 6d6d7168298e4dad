"""Metrics for the operators' alerts that the engine's counters cannot say: a stuck queue, an expiring
certificate. Both are read at scrape time, from the store and from the certificate the server loaded.

docs/METRICS.md lists them; deploy/prometheus/loa.rules.yml alerts on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cryptography import x509
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.jobs.model import Broadcast, BroadcastState
from streaming.priority import Priority


def overdue_seconds(broadcasts: Iterable[Broadcast], now: float) -> dict[Priority, float]:
    """Per priority: how long the longest-waiting QUEUED broadcast whose start time has come has waited
    (0 when none). A preempted broadcast is left out: it waits for the higher one by design."""
    worst = dict.fromkeys(Priority, 0.0)
    for b in broadcasts:
        if b.state == BroadcastState.QUEUED and b.start_time <= now:
            worst[b.priority] = max(worst[b.priority], now - b.start_time)
    return worst


class QueueCollector(Collector):
    """``loa_queue_overdue_seconds``: queue depth alone cannot tell a stuck queue from one that holds
    tomorrow's scheduled bulletins; this counts only broadcasts that should be airing already."""

    def __init__(self, active: Callable[[], Iterable[Broadcast]], clock: Callable[[], float] = time.time):
        self._active = active
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "loa_queue_overdue_seconds",
            "How long the longest-waiting queued broadcast whose start time has come has waited",
            labels=["priority"],
        )
        for priority, seconds in overdue_seconds(self._active(), self._clock()).items():
            family.add_metric([priority.label], seconds)
        yield family


def certificate_not_after(path: str | Path) -> float:
    """Unix time at which the first certificate of a PEM file expires (ValueError if none is readable)."""
    try:
        cert = x509.load_pem_x509_certificates(Path(path).read_bytes())[0]
    except (OSError, ValueError, IndexError) as exc:
        raise ValueError(f"config tls_cert: no readable PEM certificate in {str(path)!r}") from exc
    return cert.not_valid_after_utc.timestamp()


def export_certificate_expiry(registry: CollectorRegistry, tls_cert: str | Path) -> Gauge:
    """The served certificate's not-after; gRPC keeps the one it loaded until a restart, so this is read
    once, at start, like the certificate itself."""
    gauge = Gauge(
        "loa_tls_certificate_expiry_timestamp_seconds",
        "Unix time at which the server's TLS certificate (tls_cert) expires",
        registry=registry,
    )
    gauge.set(certificate_not_after(tls_cert))
    return gauge
