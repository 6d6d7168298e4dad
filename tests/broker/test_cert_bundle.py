"""Bundles carry the cluster's client certificate when the broker asks for one (broker_client_certs), with
a real `loa serve` and its Mosquitto in a private namespace (scenario_cert_bundle.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import netns

pytestmark = [pytest.mark.netns]


def test_a_cluster_connects_with_its_bundle_alone_when_the_broker_asks_for_certificates(
    tmp_path: Path,
) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_cert_bundle", str(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["bundle_has_cert"] and r["cert_files_modes"] == ["0o600", "0o600"]
    assert r["bundle"] is True, "the bundle alone is enough"
    assert r["bundle_without_cert"] is False, "the broker asks for the certificate"
    assert r["revoked"] is False, "a revoked cluster's certificate opens nothing"
