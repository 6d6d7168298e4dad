"""`loa serve` with the embedded broker (config broker = true), against the real Mosquitto over TLS in a
private network namespace (scenario_server.py): cluster accounts over gRPC with their bundles, clusters
that connect with the bundle alone, presence and last will, play reports stored once and exported as
CSV, isolation between groups, garbage counted and dropped, and revocation at once."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests import netns

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_server", str(tmp_path_factory.mktemp("srv")), timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bad_cluster_requests_get_the_status_naming_the_field(run: dict[str, Any]) -> None:
    e = run["errors"]
    assert e["bad_id"][0] == "INVALID_ARGUMENT" and e["bad_id"][1].startswith("cluster_id:")
    assert e["unknown_group"] == ["NOT_FOUND", "group_ids[1]: no group 'gz'"]
    assert e["no_group"][0] == "INVALID_ARGUMENT" and e["no_group"][1].startswith("group_ids:")
    assert e["duplicate"][0] == "ALREADY_EXISTS" and e["duplicate"][1].startswith("cluster_id:")
    assert e["no_token"][0] == "UNAUTHENTICATED"


def test_the_bundle_carries_the_broker_ca_groups_with_their_delay_and_only_their_keys(
    run: dict[str, Any],
) -> None:
    b = run["bundle_a"]
    assert b["url"] == "mqtts://localhost:8883" and b["prefix"] == "test"
    assert b["ca_pem_is_the_brokers"] and b["password_len"] >= 32
    assert b["key_groups"] == ["ga"]
    # ga's delay was the default: it became the broker's 1.5 s; gb's chosen 0.8 s was kept
    assert b["groups"] == {"ga": "239.9.1.1:5004:normal:1500"}
    assert run["raised"] == [["ga"], [], []]
    assert run["bundle_k_groups"] == {"ga": "239.9.1.1:5004:normal:1500", "gb": "239.9.1.2:5004:normal:800"}


def test_clusters_from_their_bundles_are_online_with_their_status_and_listed_as_speakers(
    run: dict[str, Any],
) -> None:
    assert run["online_within_s"]
    k = run["k_online"]
    assert k["online"] and k["network"] == "4g" and k["version"] == "0.9.0" and k["temperatureC"] == 38.0
    assert "connectTime" in k and "disconnectTime" not in k
    assert run["listed_gb"] == [["c-b", True], ["c-k", True]]
    assert run["speakers_ga"] == [["cluster:c-a", "c-a", True], ["cluster:c-k", "c-k", True]]


def test_a_killed_cluster_goes_offline_by_its_last_will_and_a_stopped_one_by_its_status(
    run: dict[str, Any],
) -> None:
    k = run["k_offline"]
    assert "online" not in k and k["disconnectTime"] >= k["connectTime"]
    assert run["k_offline_after_s"] < 2.0  # measured ~5 ms: the kernel closes the killed socket
    b = run["b_after_stop"]
    assert "online" not in b and b["disconnectTime"] >= b["connectTime"]


def test_a_report_delivered_twice_is_logged_once_and_exported_as_csv_with_a_bom(run: dict[str, Any]) -> None:
    (r,) = run["log_b"]
    assert (r["clusterId"], r["bulletinId"], r["framesPlayed"], r["stopReason"]) == (
        "c-b", "0123456789abcdef", "600", "end",
    )  # fmt: skip
    assert run["csv_rc"] == 0 and run["csv"].startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(run["csv"].lstrip("\ufeff"))))
    assert len(rows) == 1 and rows[0]["cluster"] == "c-b" and rows[0]["seconds_played"] == "12.00"
    assert rows[0]["frames_concealed"] == "2" and rows[0]["frames_lost"] == "1"
    assert run["list_rc"] == 0 and "c-k                  offline" in run["list_text"]


def test_a_cluster_reads_only_its_groups_media_and_cannot_publish_media_or_time_replies(
    run: dict[str, Any],
) -> None:
    assert run["spy_got"] == []  # c-b's credentials on ga's media, g/+, loa/#, c-a's time replies
    assert run["a_datagrams"] == [["ga", b"genuine".hex()]]  # not the media c-b forged on ga
    assert run["a_source"]["unmatched_replies"] == 0 and run["a_source"]["time_replies"] == 0


def test_garbage_on_every_server_topic_is_counted_and_dropped_and_the_server_keeps_serving(
    run: dict[str, Any],
) -> None:
    metrics = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in run["metrics"]}
    for kind in ("status", "report", "time_request"):
        assert metrics[f'loa_broker_inbox_messages_total{{kind="{kind}",outcome="malformed"}}'] == 4
    assert metrics['loa_broker_inbox_messages_total{kind="report",outcome="duplicate"}'] == 1
    assert metrics["loa_cluster_play_reports_total"] == 1
    assert run["server_still_serves"] and run["mosquitto_stopped"]


def test_revocation_cuts_a_cluster_off_at_once_and_its_reconnects_are_refused(run: dict[str, Any]) -> None:
    r = run["revoked"]
    assert r["dropped_after_s"] < 1.0  # measured ~0.11 s
    assert r["connected"] is False and r["refusals"] >= 1 and r["reason"] == "Not authorized"
    assert "revokeTime" in r["cluster"] and "online" not in r["cluster"]
    assert "c-a" not in r["listed"]


def test_presence_metrics_cover_every_group(run: dict[str, Any]) -> None:
    metrics = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in run["metrics"]}
    # at the end: c-k (ga, gb) killed, c-b (moved to ga, gb) stopped, c-cli (gb) never connected,
    # c-a revoked (not counted)
    assert metrics['loa_clusters_online{group="ga"}'] == metrics['loa_clusters_online{group="gb"}'] == 0
    assert metrics['loa_clusters_offline{group="ga"}'] == 2
    assert metrics['loa_clusters_offline{group="gb"}'] == 3
    assert metrics['loa_cluster_bulletins_missed{group="ga"}'] == 0


def test_update_moves_a_cluster_and_a_new_password_replaces_the_old_at_once(run: dict[str, Any]) -> None:
    m = run["moved"]
    assert (
        m["groups"] == ["ga", "gb"] and m["bundle_groups"] == ["ga", "gb"] and m["key_groups"] == ["ga", "gb"]
    )
    assert run["old_password_connects"] is False and run["old_password_reason"] == "Not authorized"
    assert run["new_password_connects"] is True
    assert m["gets_ga_media"] == [["ga", b"genuine".hex()]]  # its new group's media reaches it
    assert run["update_revoked"][0] == "FAILED_PRECONDITION" and "revoked" in run["update_revoked"][1]


def test_loa_speakers_add_writes_the_bundle_readable_by_its_owner_only(run: dict[str, Any]) -> None:
    assert (
        run["cli_add_rc"] == 0 and run["cli_bundle_mode"] == "0o600" and run["cli_bundle_cluster"] == "c-cli"
    )


def test_a_broadcast_reaches_a_4g_cluster_through_the_servers_pacer_and_broker(run: dict[str, Any]) -> None:
    assert run["broadcast_datagrams"] >= 50  # "Xin chào bà con." is > 1 s of 20 ms frames
    assert run["broadcast_srtp_version_bits"] == [2]  # RTP/SRTP(C) datagrams, version 2
