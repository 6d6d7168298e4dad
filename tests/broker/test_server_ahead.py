"""`loa serve` delivers a scheduled bulletin ahead: a 4G cluster whose link is cut before the start plays it
in full from its cache, sample-identical and in sync with a LAN speaker hearing the server's live
multicast; a cancelled bulletin is cleared from the cache and never played (scenario_server_ahead.py:
a real server process, the embedded Mosquitto, speakers in network namespaces)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests import netns
from tests.streaming.harness import load, skews

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_loa_serve_delivers_a_scheduled_bulletin_ahead_and_a_cut_off_cluster_plays_it_in_sync(
    tmp_path: Path,
) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_server_ahead", str(tmp_path), timeout=120)
    log = (tmp_path / "server.log").read_text() if (tmp_path / "server.log").exists() else ""
    assert done.returncode == 0, done.stderr[-3000:] + log[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["cached_both"] and r["cancel_cleared"], r
    assert (
        r["cut_before_start_s"] > 1.0
        and r["finished"]
        and r["cancelled_state"] == "BROADCAST_STATE_CANCELLED"
    )
    assert r["sentence_count"] == 2 and abs(r["air_lateness_s"]) < 0.05  # progress from the stored marks
    assert r["first_item_cleared_on_server"]  # cleared at the end of the airing: frames and clears gone
    lan, far = load(tmp_path, "lan"), load(tmp_path, "far")
    frames = {}
    for rec in (lan, far):
        played = [f for f in rec.meta["frames"] if f[0] == r["ssrc"] and f[3] == "packet"]
        frames[rec.meta["name"]] = len(played)
        assert not [f for f in rec.meta["frames"] if f[0] == r["cancelled_ssrc"]], rec.meta["name"]
        assert rec.meta["srtp"]["rejected"] == 0 and rec.meta["gate"]["stale_reports"] == 0
    assert frames["far"] == frames["lan"] > 100  # all of it, nothing concealed, on both
    cache = far.meta["cache"]
    assert (
        cache["played"] == 1 and cache["cleared"] == 1 and cache["missed"] == 0 and cache["skipped_late"] == 0
    )
    spread = skews([lan, far])
    assert len(spread) >= frames["lan"]
    p50, p99 = np.percentile(spread, [50, 99]) * 1e6
    print(
        f"cached {r['cached_after_s']:.2f} s after CreateBroadcast ({r['item_bytes']} bytes); link cut "
        f"{r['cut_before_start_s']:.1f} s before the start; {frames['far']} frames; skew p50 {p50:.0f} µs, "
        f"p99 {p99:.0f} µs; air time {r['air_lateness_s'] * 1000:.1f} ms from the schedule"
    )
    assert np.percentile(spread, 99) < 0.001
    lo = max(rec.first_index for rec in (lan, far))
    hi = min(rec.first_index + len(rec.audio) for rec in (lan, far))
    reference = lan.audio[lo - lan.first_index : hi - lan.first_index]
    assert np.abs(reference).max() > 0.05
    np.testing.assert_array_equal(far.audio[lo - far.first_index : hi - far.first_index], reference)
