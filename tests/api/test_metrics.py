"""/metrics of a real server and a real speaker agent: what alerts need is there from the first scrape.

Series created only at their first observation are invisible to increase()/rate() after a restart, so
every known label combination must be on the page, at zero, before anything happened.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api import convert
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group, wait_state, watch
from tests.test_deploy import dashboard_exprs, metric_names, rule_exprs

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LONG_VI = (
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng mở rộng cho trẻ em trong tháng này. "
    "Đề nghị các gia đình đưa con em đến trạm y tế đúng giờ. "
    "Khi đi mang theo sổ tiêm chủng và đeo khẩu trang."
)
SPEAKER_METRICS_PORT = 9470  # inside the test's private namespace: no clash with anything outside


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("metrics")).start()
    client = srv.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("quiet", "239.192.29.1", playout_delay=convert.duration(0.2))),
        metadata=client.metadata,
    )
    yield srv
    srv.stop()


def value(page: str, series: str) -> float | None:
    """The value of one exact series (``name{labels}`` as Prometheus prints it), None if absent."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", page, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_a_fresh_server_shows_every_known_series_at_zero(server: Server) -> None:
    page = server.metrics()
    for series in (
        'loa_broadcasts_total{priority="emergency",state="failed"}',
        'loa_broadcasts_total{priority="normal",state="finished"}',
        'loa_preemptions_total{priority="high"}',
        'loa_queue_depth{priority="emergency"}',
        'loa_request_to_first_packet_seconds_count{priority="emergency"}',
        'loa_request_to_first_packet_seconds_bucket{le="2.5",priority="emergency"}',
        'loa_tts_first_audio_seconds_count{priority="normal"}',
        'loa_tts_real_time_factor_count{family="espeak"}',
        'loa_tts_cache_lookups_total{result="miss"}',
        'loa_rpc_total{code="INTERNAL",method="Broadcasts.CreateBroadcast"}',
        'loa_rpc_total{code="UNAUTHENTICATED",method="Groups.GetGroupKeys"}',
        # a group nobody has heard yet: 0 speakers online, nothing on air, rather than no series at all
        'loa_speakers_online{group="quiet"}',
        'loa_group_streams{group="quiet"}',
        'loa_queue_overdue_seconds{priority="normal"}',  # nothing due is waiting
    ):
        assert value(page, series) == 0.0, series
    # the standard process and platform collectors
    assert (value(page, "process_resident_memory_bytes") or 0) > 10e6
    assert (value(page, "process_start_time_seconds") or 0) > time.time() - 3600
    assert "python_info{" in page
    if shutil.which("promtool"):
        lint = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_each_speaker_has_its_own_report_age_and_loss_and_the_agent_its_process_metrics(
    server: Server,
) -> None:
    client = server.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("each", "239.192.29.2", playout_delay=convert.duration(0.2))),
        metadata=client.metadata,
    )
    speakers = [
        server.speaker(
            "each-0", ["239.192.29.2:5004:normal:200"], "--metrics-port", str(SPEAKER_METRICS_PORT)
        ),
        server.speaker("each-1", ["239.192.29.2:5004:normal:200"]),
    ]
    agent_before = server.metrics(SPEAKER_METRICS_PORT)
    broadcast = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(group_ids=["each"], segments=[pb.Segment(language="vi", text=LONG_VI)]),
        metadata=client.metadata,
    )
    assert wait_state(client, broadcast.id, {pb.BROADCAST_STATE_ON_AIR}).state == pb.BROADCAST_STATE_ON_AIR
    time.sleep(2.0)  # both report (about every second)
    speakers[1].stop()  # one speaker dies mid-bulletin: its report ages, the other's stays fresh
    time.sleep(3.0)
    page = server.metrics()
    assert value(page, 'loa_group_streams{group="each"}') == 1.0  # on air: an old report means trouble
    live = value(page, 'loa_speaker_report_age_seconds{group="each",speaker="each-0"}')
    dead = value(page, 'loa_speaker_report_age_seconds{group="each",speaker="each-1"}')
    assert live is not None and live < 2.0
    assert dead is not None and dead > 2.5
    assert value(page, 'loa_speaker_report_loss_ratio{group="each",speaker="each-0"}') == 0.0
    assert value(page, 'loa_speakers_online{group="each"}') == 2.0  # the group view: still "online"
    assert watch(client, broadcast.id)[-1].state == pb.BROADCAST_STATE_FINISHED
    page = server.metrics()
    assert value(page, 'loa_group_streams{group="each"}') == 0.0  # over: nothing on air
    assert value(page, 'loa_broadcasts_total{priority="normal",state="finished"}') == 1.0

    # the agent: zero series before any packet, process metrics, then the datagrams it took
    for series in (
        'loa_speaker_datagrams_total{outcome="rejected_replay"}',
        'loa_speaker_datagrams_total{outcome="rejected_authentication"}',
        'loa_speaker_frames_total{kind="plc"}',
    ):
        assert value(agent_before, series) == 0.0, series
    assert (value(agent_before, "process_resident_memory_bytes") or 0) > 10e6
    agent_after = server.metrics(SPEAKER_METRICS_PORT)
    assert (value(agent_after, 'loa_speaker_datagrams_total{outcome="ok"}') or 0) > 50
    if shutil.which("promtool"):
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=agent_after, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def sample_names(page: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", page, re.MULTILINE)}


def test_every_metric_the_alert_rules_and_the_dashboard_read_is_exported(server: Server) -> None:
    speaker = server.speaker("names", ["239.192.29.3:5004:normal:200"], "--metrics-port", "9471")
    exported = sample_names(server.metrics()) | sample_names(server.metrics(9471))
    speaker.stop()
    # `up` is Prometheus' own; the certificate gauge exists only with TLS (tests/api/test_health_cli.py)
    exported |= {"up", "loa_tls_certificate_expiry_timestamp_seconds"}
    # and docs/METRICS.md describes every Loa metric on the pages
    documented = (Path(__file__).resolve().parents[2] / "docs" / "METRICS.md").read_text(encoding="utf-8")
    families = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", n) for n in exported if n.startswith("loa_")
    }
    assert sorted(f for f in families if f"`{f}" not in documented) == []
    for source, exprs in (("rules", rule_exprs()), ("dashboard", dashboard_exprs())):
        for expr in exprs:
            missing = metric_names(expr) - exported
            assert not missing, f"{source}: {expr} reads {missing}, which no /metrics page has"
