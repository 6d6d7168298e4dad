"""The scrape-time gauges behind the operators' alerts: overdue queue, certificate expiry."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from prometheus_client import CollectorRegistry, generate_latest

from engine.api.ops_metrics import (
    QueueCollector,
    certificate_not_after,
    export_certificate_expiry,
    overdue_seconds,
)
from engine.jobs.model import Broadcast, BroadcastState, Priority
from tests.jobs.conftest import make_spec
from tests.security.certs import CertificateAuthority

NOW = 1_790_000_000.0


def bc(bid: str, state: BroadcastState, start: float, priority: Priority = Priority.NORMAL) -> Broadcast:
    return Broadcast(
        id=bid,
        spec=make_spec("g", priority=priority),
        state=state,
        seq=1,
        create_time=NOW - 1000,
        start_time=start,
        update_time=NOW,
    )


def test_only_queued_broadcasts_whose_time_has_come_are_overdue() -> None:
    broadcasts = [
        bc("due-long", BroadcastState.QUEUED, NOW - 300),
        bc("due-short", BroadcastState.QUEUED, NOW - 20),
        bc("tomorrow", BroadcastState.QUEUED, NOW + 86_400),  # scheduled: not stuck
        bc("held", BroadcastState.PREEMPTED, NOW - 900, Priority.HIGH),  # waits for the emergency
        bc("airing", BroadcastState.ON_AIR, NOW - 600, Priority.EMERGENCY),
    ]
    assert overdue_seconds(broadcasts, NOW) == {
        Priority.NORMAL: 300.0,
        Priority.HIGH: 0.0,
        Priority.EMERGENCY: 0.0,
    }


def test_queue_collector_exports_every_priority() -> None:
    registry = CollectorRegistry()
    registry.register(QueueCollector(lambda: [bc("x", BroadcastState.QUEUED, NOW - 42)], clock=lambda: NOW))
    page = generate_latest(registry).decode()
    assert 'loa_queue_overdue_seconds{priority="normal"} 42.0' in page
    assert 'loa_queue_overdue_seconds{priority="emergency"} 0.0' in page


def test_certificate_expiry_is_the_served_certificates_not_after(tmp_path: Path) -> None:
    issued = CertificateAuthority(tmp_path, "loa").issue("server", server=True)
    expected = x509.load_pem_x509_certificate(issued.cert.read_bytes()).not_valid_after_utc
    assert certificate_not_after(issued.cert) == expected.timestamp()
    registry = CollectorRegistry()
    export_certificate_expiry(registry, issued.cert)
    value = registry.get_sample_value("loa_tls_certificate_expiry_timestamp_seconds")
    assert value is not None
    remaining = value - datetime.datetime.now(datetime.UTC).timestamp()
    assert 0 < remaining <= 86_400  # the test CA issues for a day


def test_an_unreadable_certificate_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ValueError, match="tls_cert"):
        certificate_not_after(tmp_path / "bad.pem")
