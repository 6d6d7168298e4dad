"""The broker link against the real Mosquitto over TLS, in a private network namespace: who may connect,
who may read and write what, revocation at once, presence by last will, media delivered exactly in ~100 ms
bundles, time replies matched by nonce, and garbage counted and dropped.

The scenarios run in tests/broker/scenario_broker.py; these tests judge their JSON.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from tests import netns

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def scenario(name: str, tmp_path: Path, timeout: float = 60) -> Any:
    done = netns.run_python("tests.broker.scenario_broker", name, str(tmp_path), timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_only_a_known_cluster_with_its_own_password_over_trusted_tls_connects(tmp_path: Path) -> None:
    r = scenario("auth", tmp_path)
    for label in ("no_password", "wrong_password", "unknown_user", "other_clusters_password"):
        assert r[label]["connected"] is False, label
        assert r[label]["refusals"] >= 1 and r[label]["reason"] == "Not authorized", label
    assert r["good"] == {"connected": True, "refusals": 0, "reason": ""}
    assert r["untrusted_ca"]["connected"] is False
    assert "CERTIFICATE_VERIFY_FAILED" in r["untrusted_ca"]["reason"]


def test_with_client_certs_a_cluster_needs_our_certificate_and_its_password(tmp_path: Path) -> None:
    r = scenario("client_certs", tmp_path)
    assert r["cert_and_password"] is True
    assert r["no_cert"] is r["rogue_cert"] is r["cert_wrong_password"] is False


def test_a_cluster_reads_only_its_groups_and_writes_only_under_its_name(tmp_path: Path) -> None:
    r = scenario("acl", tmp_path)
    genuine = r["genuine"]
    # c-a subscribed to ga, gb, g/+ and loa/#: only ga's genuine media reached it, once per matching filter
    assert {(t, p) for t, p in r["a_got"]} == {("loa/v1/test/g/ga/media", genuine)}
    # c-b got its group's genuine media and the server's time reply, nothing c-a forged
    assert r["b_got"] == [
        ["loa/v1/test/g/gb/media", genuine],
        ["loa/v1/test/c/c-b/time/resp", b"reply-for-b".hex()],
    ]
    # the server's side saw only c-a's status on c-a's own topic: not the status or report forged for c-b
    assert [t for t, _ in r["watch_got"]] == ["loa/v1/test/c/c-a/status"]
    assert all(r["forged"] not in p for _, p in r["a_got"] + r["b_got"] + r["watch_got"])


def test_a_revoked_cluster_is_dropped_at_once_and_refused_after(tmp_path: Path) -> None:
    r = scenario("revoke", tmp_path)
    assert r["dropped_after_s"] is not None and r["dropped_after_s"] < 1.0  # measured ~0.10 s
    assert r["a_connected"] is False and r["a_connects"] == 1
    assert r["a_refusals"] >= 2 and r["a_reason"] == "Not authorized"
    assert r["b_connected"] is True and r["b_connects"] == 1, "the reload leaves other clusters alone"


def test_a_dead_cluster_is_marked_offline_by_its_retained_last_will(tmp_path: Path) -> None:
    r = scenario("lwt", tmp_path)
    assert r["statuses"] == [["c-a", "online"], ["c-a", "offline"]]
    assert r["online"]["network"] == "4g" and r["online"]["temperature_c"] == 40.0
    assert r["offline_after_s"] < 2.0  # the kernel closes a killed process's socket: measured ~2 ms
    assert r["retained_for_late_server"] == ["offline"]


def test_media_arrives_exact_and_in_order_in_100_ms_bundles_and_time_replies_match(tmp_path: Path) -> None:
    r = scenario("media", tmp_path)
    assert len(r["sent"]) == 105  # 100 RTP, 4 sender reports, 1 BYE
    assert [[d, rtcp] for _, d, rtcp in r["received"]] == r["sent"]
    assert {g for g, _, _ in r["received"]} == {"ga"}
    assert r["publisher"]["bundles"] == r["source"]["bundles"] == 25  # 20 of 5 frames + 4 SR + 1 BYE
    assert r["publisher"]["unsent"] == 0 and r["source"]["malformed"] == 0
    gaps = r["arrival_gaps_s"]
    assert 0.09 < statistics.median(gaps) < 0.11  # measured 0.100 s
    assert max(gaps) < 0.2
    assert r["source"]["time_replies"] == 3 and r["inbox"]["time_requests"] == 3
    for offset, delay in r["time"]:
        assert abs(offset) < 0.05 and 0 <= delay < 0.1  # one clock, loopback: measured < 1 ms warm


def test_publishing_from_another_thread_at_full_speed_keeps_the_connection(tmp_path: Path) -> None:
    r = scenario("burst", tmp_path)
    assert r["server_connects"] == 1, r["server_reason"]  # paho once wrote from both threads: dropped
    assert r["accepted"] == 3000 and r["received"] == 3000 and r["received_in_order"]


def test_garbage_is_counted_and_dropped_on_both_sides(tmp_path: Path) -> None:
    r = scenario("garbage", tmp_path)
    assert r["got"] == [b"ok".hex()], "only the valid bundle reached the ingress"
    assert r["source"]["malformed"] == 5  # 4 bad media payloads + 1 bad time reply
    assert r["source"]["unmatched_replies"] == 1  # a well-formed reply to no request of ours
    assert r["source_connected"] is True
    assert r["inbox"]["malformed"] == 6  # 3 bad statuses + 3 bad reports
    assert r["inbox"]["reports"] == 1 and r["inbox"]["statuses"] == 1  # the genuine ones
