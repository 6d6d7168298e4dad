"""A recording older than the key lifetime bound plays nothing on restarted speakers whose clock is set
back to the recording's time; a broadcast across a key switch plays every frame (real `loa speaker`
processes in a private network namespace; tests/streaming/scenario_key_lifetime.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.streaming.harness import load
from tests.streaming.test_speakers import scenario

pytestmark = [pytest.mark.netns, pytest.mark.slow]
GROUP = "239.6.0.2:5004"


def test_an_old_recording_plays_0_frames_whatever_the_clock_and_a_rotation_loses_none(tmp_path: Path) -> None:
    result = scenario("scenario_key_lifetime", tmp_path, timeout=90)
    ssrc, sent = result["ssrc"], result["frames_sent"]
    # at least one switch (a loaded machine stretches the scenario's 3 s lifetime over two)
    assert len(result["rtp_mkis"]) >= 2, "the broadcast crossed a key switch"
    for name in ("spk0", "spk1", "spk2"):
        r = load(tmp_path, name)
        assert [f[0] for f in r.meta["frames"]] == [ssrc] * sent, name
        assert r.kinds() == {"packet": sent}, f"{name}: every frame across the rotation"
    # the replay: every packet older than the bound, the restarted speakers' clocks at the capture time
    assert result["replay_age_last"] > result["bound_s"] and result["restart_late_s"] <= 0
    assert not set(result["rtp_mkis"]) & set(result["fresh_mkis"]), "the fresh file holds no used key"
    for name in ("spk0r", "spk1r", "spk2r"):
        r = load(tmp_path, name)
        assert r.meta["frames"] == [], f"{name} played {len(r.meta['frames'])} replayed frames"
        counts = r.meta["srtp"]["groups"][GROUP]
        assert counts["rejected_unknown_key"] == result["captured"], "every datagram: no such key"
    # control: a speaker still holding the recording's keys is fooled by the spoofed clock
    control = load(tmp_path, "ctl")
    played = [f for f in control.meta["frames"] if f[0] == ssrc]
    assert len(played) == sent, f"control played {len(played)} of {sent}"
