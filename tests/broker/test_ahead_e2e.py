"""A bulletin delivered ahead plays from a 4G cluster's cache with its link cut before the start, in sync
and sample-identical with a LAN speaker hearing it live; a cancelled item does not play
(scenario_ahead.py, the real Mosquitto, speakers in network namespaces)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests import netns
from tests.streaming.harness import load, skews

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SECONDS = 3.0


def test_a_bulletin_delivered_ahead_plays_from_the_cache_with_the_link_cut_in_sync_with_the_lan(
    tmp_path: Path,
) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_ahead", str(tmp_path), str(SECONDS), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["got_both"] and r["cancelled"] and r["cut_before_start_s"] > 1.0
    lan, far = load(tmp_path, "lan"), load(tmp_path, "far")
    for rec in (lan, far):
        played = [f for f in rec.meta["frames"] if f[0] == r["ssrc"] and f[3] == "packet"]
        assert len(played) >= r["frames"] - 2, rec.meta["name"]  # all of it, none concealed
        assert not [f for f in rec.meta["frames"] if f[0] == r["cancelled_ssrc"]], rec.meta["name"]
        assert rec.meta["srtp"]["rejected"] == 0 and rec.meta["gate"]["stale_reports"] == 0
    cache = far.meta["cache"]
    assert cache["played"] == 1 and cache["cleared"] == 1 and cache["missed"] == 0
    assert cache["skipped_late"] == 0
    spread = skews([lan, far])
    assert len(spread) >= r["frames"] - 2
    p50, p99 = np.percentile(spread, [50, 99]) * 1e6
    print(
        f"item {r['item_bytes']} bytes delivered in {r['delivered_s']:.2f} s; link cut "
        f"{r['cut_before_start_s']:.1f} s before the start; skew p50 {p50:.0f} µs, p99 {p99:.0f} µs"
    )
    assert np.percentile(spread, 99) < 0.001
    lo = max(rec.first_index for rec in (lan, far))
    hi = min(rec.first_index + len(rec.audio) for rec in (lan, far))
    reference = lan.audio[lo - lan.first_index : hi - lan.first_index]
    assert np.abs(reference).max() > 0.05
    np.testing.assert_array_equal(far.audio[lo - far.first_index : hi - far.first_index], reference)
    # the broker's ACL: another group's cluster got nothing; a cluster's own publish reached nobody
    assert r["spy_got"] == []
    assert r["watch_topics"] == [
        "loa/v1/test/g/village/ahead/bulletin-1",
        "loa/v1/test/g/village/ahead/bulletin-2",
    ]
