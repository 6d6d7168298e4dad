"""A 4G speaker behind the broker and a LAN speaker on multicast play one SRTP broadcast identically and
in sync (scenario_4g.py): same samples, skew p99 under 1 ms on the shared clock, nothing counted as an
attack on either."""

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
    lan, far = load(tmp_path, "lan"), load(tmp_path, "far")
    for rec in (lan, far):
        played = [f for f in rec.meta["frames"] if f[0] == r["ssrc"] and f[3] == "packet"]  # none concealed
        assert len(played) >= SECONDS * 50 - 2, rec.meta["name"]
        assert rec.meta["srtp"]["rejected"] == 0 and rec.meta["gate"]["stale_reports"] == 0
    assert far.meta["path_copies"] == 0  # the 4G host hears no multicast: one path only
    spread = skews([lan, far])
    assert len(spread) >= SECONDS * 50 - 2
    p50, p99 = np.percentile(spread, [50, 99]) * 1e6
    print(r["publisher"], f"skew p50 {p50:.0f} µs, p99 {p99:.0f} µs, max {spread.max() * 1e6:.0f} µs")
    assert np.percentile(spread, 99) < 0.001
    lo = max(lan.first_index, far.first_index)
    hi = min(lan.first_index + len(lan.audio), far.first_index + len(far.audio))
    reference = lan.audio[lo - lan.first_index : hi - lan.first_index]
    assert np.abs(reference).max() > 0.05
    np.testing.assert_array_equal(far.audio[lo - far.first_index : hi - far.first_index], reference)
