"""Replaying an old, genuinely keyed broadcast cannot silence a live one, even on a speaker that restarted.

SRTP's replay window only catches a replay on a speaker that still remembers the stream. A speaker that
restarted (or has since seen 1,024 newer streams) authenticates the old packets afresh: what stops them
is that a new SSRC on a keyed group touches playout only after a sender report whose NTP time is the
speaker's present, and an old stream's reports are in the past (streaming/playout.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.streaming.harness import load
from tests.streaming.test_speakers import scenario

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_replayed_old_stream_plays_nothing_and_the_live_stream_plays_every_frame(tmp_path: Path) -> None:
    result = scenario("scenario_srtp_replay", tmp_path, timeout=60)
    old, live = result["old"], result["live"]
    assert result["captured_ssrcs"] == [old], "the capture holds the old broadcast only"
    assert result["replayed_rtp"] == result["old_frames"] and result["replayed_rtcp"] >= 3
    assert result["replay_seconds"] > 1.2  # replayed at its own pace, inside the live broadcast
    remembered, restarted = load(tmp_path, "spk0"), load(tmp_path, "spk1r")
    for r in (remembered, restarted):
        played = r.meta["frames"]
        first_live = min(f[2] for f in played if f[0] == live)
        since = [f for f in played if f[2] >= first_live]
        assert {f[0] for f in since} == {live}, "from the live stream's first frame on, only it played"
        assert [f[3] for f in since] == ["packet"] * result["live_frames"], "every live frame, none lost"
    assert {f[0] for f in restarted.meta["frames"]} == {live}
    # the speaker that remembers the old stream: SRTP's replay window refuses every datagram
    counts = remembered.meta["srtp"]["groups"]["239.6.0.2:5004"]
    replayed = result["replayed_rtp"] + result["replayed_rtcp"]
    assert counts["rejected_replay"] == replayed
    assert remembered.meta["gate"]["stale_reports"] == 0
    # the restarted one: the replay authenticates, but its reports are stale and its RTP never plays
    counts = restarted.meta["srtp"]["groups"]["239.6.0.2:5004"]
    assert counts["rejected_replay"] == 0
    gate = restarted.meta["gate"]
    assert gate["stale_reports"] == result["replayed_rtcp"], "every replayed sender report refused"
    assert gate["unverified"] == result["replayed_rtp"], "every replayed RTP packet dropped and counted"
    assert gate["admitted"] == 1 and gate["pending"] == 0  # the live stream only; nothing left waiting
    assert str(old) not in restarted.meta["streams"]
