"""Loa's time exchange over the broker (scenario_time.py): 4G speakers with offset, drifting clocks play
in sync with a LAN speaker on the true clock; replies the speaker did not ask for, and replies from
anyone but the server, never move its clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import netns
from tests.streaming.harness import load, skews

pytestmark = [pytest.mark.netns]

SECONDS = 4.0


def scenario(name: str, directory: Path, *args: str) -> dict[str, Any]:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_time", name, str(directory), *args, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_4g_speakers_with_offset_drifting_clocks_sync_over_the_broker_and_play_with_the_lan(
    tmp_path: Path,
) -> None:
    r = scenario("sync", tmp_path, str(SECONDS))
    lan = load(tmp_path, "lan")
    far = [load(tmp_path, name) for name in r["clocks"]]
    for rec, (offset_ms, _) in zip(far, r["clocks"].values(), strict=True):
        assert rec.meta["timesync"]["path"] == "broker"
        assert rec.meta["timesync"]["samples"] >= 10 and rec.meta["timesync"]["jumps_ignored"] == 0
        assert rec.meta["broker"]["unmatched_replies"] == 0
        assert rec.meta["offset"] == pytest.approx(-offset_ms / 1000, abs=0.005)
    for rec in (lan, *far):
        played = [f for f in rec.meta["frames"] if f[0] == r["ssrc"] and f[3] == "packet"]
        assert len(played) >= SECONDS * 50 - 2, rec.meta["name"]
    spread = skews([lan, *far])
    assert len(spread) >= SECONDS * 50 - 2
    p50, p99 = np.percentile(spread, [50, 99]) * 1e3
    print(f"broker time sync, clocks {r['clocks']}: skew p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    assert np.percentile(spread, 99) < 0.003


def test_time_replies_the_speaker_did_not_ask_for_or_from_another_cluster_do_not_move_its_clock(
    tmp_path: Path,
) -> None:
    r = scenario("attacks", tmp_path)
    acl = r["acl"]
    # c-b's reply on c-a's time/resp, with c-a's own outstanding nonce: the broker's ACL refuses it
    assert acl["victim_counters"]["time_replies"] == 0 and acl["victim_counters"]["unmatched_replies"] == 0
    assert acl["victim_offset"] is None
    # the control: the same message from the server's account is taken, so the ACL is what stopped it
    assert r["control"]["victim_counters"]["time_replies"] == 1
    assert r["control"]["victim_offset"] == pytest.approx(-0.2, abs=0.01)
    u = r["unknown"]
    assert u["settled_offset"] == pytest.approx(-0.2, abs=0.005)
    # a reply with a nonce never sent (5 s off) and a replay of a genuine reply: both unmatched
    assert u["after"]["unmatched_replies"] - u["before"]["unmatched_replies"] == 2
    assert u["offset_after"] == pytest.approx(u["settled_offset"], abs=0.002)
    assert u["jumps_ignored"] == 0  # they never reached the estimator
