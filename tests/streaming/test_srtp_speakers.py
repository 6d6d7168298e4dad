"""What the speakers accept, with real processes in a private network namespace: only the group's
genuine SRTP stream plays; rogue senders (no key, a random key, a stolen expired key) and replays of
captured packets play nothing and are counted; a key rotation mid-broadcast loses no frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.streaming.harness import load
from tests.streaming.test_speakers import scenario

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_rogues_and_replays_play_nothing_and_rotation_loses_no_frame(tmp_path: Path) -> None:
    result = scenario("scenario_srtp", tmp_path, timeout=90)
    genuine, frames = result["genuine"], result["genuine_frames"]
    assert frames == 201  # 4 s + the frame that flushes the encoder
    # the sender switched MKI 2 → 3 mid-stream, once, while every speaker kept playing
    mkis = result["rtp_mkis"]
    switch = mkis.index(3)
    assert 50 < switch < 150 and set(mkis[:switch]) == {2} and set(mkis[switch:]) == {3}
    # each rogue stream: its RTP packets plus its share of the SRTCP/RTCP reports
    per_rogue = result["rogue_datagrams"][0] + result["rogue_rtcp"] // 3
    assert all(n == result["rogue_datagrams"][0] > 250 for n in result["rogue_datagrams"])
    for name in ("spk0", "spk1", "spk2"):
        r = load(tmp_path, name)
        played = r.meta["frames"]
        assert {f[0] for f in played} == {genuine}, "no rogue SSRC ever reached the playout"
        assert r.kinds() == {"packet": frames}, "every genuine frame played, none concealed (no gap)"
        # the WAV: silence everywhere but where the genuine frames played (rogues began 1.5 s earlier)
        start = min(f[2] for f in played) - r.first_index
        end = max(f[2] for f in played) - r.first_index + 960
        assert start > 48_000 and np.abs(r.audio[start:end]).max() > 0.1
        assert not r.audio[:start].any() and not r.audio[end:].any()
        srtp = r.meta["srtp"]
        counts = srtp["groups"]["239.6.0.1:5004"]
        assert counts["accepted"] == result["replayed"]  # exactly the genuine datagrams, once each
        assert counts["rejected_replay"] == result["replayed"]  # every replayed datagram
        # Every rogue datagram is refused: the random key claiming MKI 2 fails authentication, plain RTP
        # and the stolen MKI 1 have no key. RTP splits exactly; sender reports are jittered per stream, so
        # each rogue's share of the RTCP is only known in total.
        rtp = result["rogue_datagrams"][0]
        assert counts["rejected_authentication"] >= rtp and counts["rejected_unknown_key"] >= 2 * rtp
        assert (
            counts["rejected_authentication"] + counts["rejected_unknown_key"]
            == 3 * rtp + result["rogue_rtcp"]
        )
        assert srtp["reloads"] == 2 and srtp["reload_errors"] == 0  # SIGHUP, or the file change (spk2)
    assert (
        'loa_speaker_datagrams_total{outcome="rejected_replay"} ' + f"{result['replayed']}.0"
        in (result["metrics"])
    )
    table = {s["cname"]: s for s in result["speakers"]}
    assert sorted(table) == ["spk0", "spk1", "spk2"]  # the sender heard from every speaker ...
    # ... and of the attack (LOAR; the last report leaves ≥ 4 s into the 6 s of rogue traffic)
    assert all(s["rejected_packets"] > per_rogue for s in table.values())
