"""Forged time-sync replies over RTCP (security #12, items 1 and 3): 200 a second to each of two SRTP
speakers, from the sender's own (spoofed) address, plain, under the attacker's key, or replays of
genuine sealed replies: every frame plays and the speakers' skew moves by less than 1 ms (real `loa
speaker` processes in a private namespace; tests/streaming/scenario_forged_time.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.streaming.harness import load, skews
from tests.streaming.test_speakers import scenario

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_forged_time_replies_lose_no_frame_and_move_the_skew_less_than_1_ms(tmp_path: Path) -> None:
    result = scenario("scenario_forged_time", tmp_path, timeout=90)
    assert len(result["speaker_ports"]) == 2 and result["genuine_replies_seen"] > 0
    sent = sum(result["forged"].values())
    assert sent / result["attack_seconds"] > 2 * 150, result["forged"]  # ~200/s to each speaker
    recordings = [load(tmp_path, n) for n in ("spk0", "spk1")]
    (base_ssrc, base_frames), (ssrc, frames) = result["baseline"], result["attacked"]
    spreads = {}
    for which, stream, count in (("baseline", base_ssrc, base_frames), ("attacked", ssrc, frames)):
        for r in recordings:
            played = [f for f in r.meta["frames"] if f[0] == stream]
            assert [f[3] for f in played] == ["packet"] * count, f"{r.meta['name']} {which}: every frame"
        only = [load(tmp_path, n) for n in ("spk0", "spk1")]
        for r in only:
            r.meta["frames"] = [f for f in r.meta["frames"] if f[0] == stream]
        spreads[which] = skews(only)
    change = abs(np.percentile(spreads["attacked"], 99) - np.percentile(spreads["baseline"], 99))
    assert change < 0.001, f"skew p99 {spreads['baseline']} -> {spreads['attacked']}"
    for r in recordings:
        rejected = r.meta["timesync"]["rejected"]
        assert rejected["unauthenticated"] + rejected["forged"] > 0.9 * sent / 2, rejected
        assert r.meta["timesync"]["jumps_ignored"] == 0 and r.meta["timesync"]["steps"] == 0
