"""A 4G speaker behind the broker, a LAN speaker on multicast and one that hears both paths play one SRTP
broadcast identically and in sync (scenario_4g.py): same samples, skew p99 under 1 ms on the shared
clock, nothing counted as an attack (the copies the two-path speaker gets are duplicates, not replays)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests import netns
from tests.streaming.harness import load, skews

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SECONDS = 4.0


def test_a_4g_speaker_on_the_broker_plays_what_the_lan_speaker_plays_in_sync(tmp_path: Path) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_4g", str(tmp_path), str(SECONDS), timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    lan, far, both = load(tmp_path, "lan"), load(tmp_path, "far"), load(tmp_path, "both")
    for rec in (lan, far, both):
        played = [f for f in rec.meta["frames"] if f[0] == r["ssrc"] and f[3] == "packet"]  # none concealed
        assert len(played) >= SECONDS * 50 - 2, rec.meta["name"]
        assert rec.meta["srtp"]["rejected"] == 0 and rec.meta["gate"]["stale_reports"] == 0
    assert far.meta["path_copies"] == 0  # the 4G host hears no multicast: one path only
    assert both.meta["path_copies"] >= SECONDS * 50  # every datagram came twice, and played once
    spread = skews([lan, far, both])
    assert len(spread) >= SECONDS * 50 - 2
    p50, p99 = np.percentile(spread, [50, 99]) * 1e6
    print(r["publisher"], f"skew p50 {p50:.0f} µs, p99 {p99:.0f} µs, max {spread.max() * 1e6:.0f} µs")
    assert np.percentile(spread, 99) < 0.001
    lo = max(rec.first_index for rec in (lan, far, both))
    hi = min(rec.first_index + len(rec.audio) for rec in (lan, far, both))
    reference = lan.audio[lo - lan.first_index : hi - lan.first_index]
    assert np.abs(reference).max() > 0.05
    for rec in (far, both):
        np.testing.assert_array_equal(rec.audio[lo - rec.first_index : hi - rec.first_index], reference)
