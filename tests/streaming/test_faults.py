"""Network faults through the user-space relay (seeded), speakers as real processes in a namespace:
loss, jitter, reordering, duplication and a 10 s outage, with Opus in-band FEC on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.streaming.harness import Recording, load, skews
from tests.streaming.test_speakers import scenario

pytestmark = [pytest.mark.netns, pytest.mark.slow]

PLAYED = ("packet", "fec")


def test_bad_link_with_10_s_outage_is_concealed_kept_in_sync_and_resynced(tmp_path: Path) -> None:
    result = scenario("scenario_faults", tmp_path, timeout=90)
    assert result["dropped"] > 5 and result["duplicated"] > 5 and result["reordered"] > 5
    swallowed = result["outage_timestamps"]
    assert len(swallowed) >= 490  # 10 s of 20 ms packets
    lo, hi = min(swallowed) - 960, max(swallowed) + 960
    direct = load(tmp_path, "direct")
    assert direct.kinds() == {"packet": 801}  # 16 s + the encoder's tail, all of it, on the clean path
    reference = {f[1] for f in direct.meta["frames"]}
    before = {t for t in reference if t < lo}
    after = {t for t in reference if t > hi}
    assert len(before) > 130 and len(after) > 130
    far = [load(tmp_path, f"far{i}") for i in range(2)]
    for r in far:
        played = {f[1]: f[3] for f in r.meta["frames"] if f[0] == result["ssrc"]}
        # ≥ 99% of the frames outside the outage played from a packet or rebuilt from FEC
        assert sum(played.get(t) in PLAYED for t in before | after) >= 0.99 * len(before | after)
        assert not [t for t in before | after if played.get(t) == "silence"]
        assert r.kinds().get("fec", 0) > 0, "FEC rebuilt lost frames"
        # resynced at once: the first frame after the link came back plays, in place
        assert played.get(min(after)) in PLAYED
        stats = next(iter(r.meta["streams"].values()))
        assert stats["duplicates"] > 0, "duplicates were seen and dropped"
    # every speaker played each frame at the same instant, before the outage and after it
    spread = skews([direct, *far])
    assert len(spread) > 0.99 * len(before | after)
    assert np.percentile(spread, 99) < 0.001
    post = skews([_only(r, after) for r in (direct, *far)])
    assert len(post) >= 0.99 * len(after) and np.percentile(post, 99) < 0.001


def _only(r: Recording, rtp: set[int]) -> Recording:
    """The recording with only the frames whose RTP time is in ``rtp``."""
    frames = [f for f in r.meta["frames"] if f[1] in rtp]
    return Recording(r.audio, {**r.meta, "frames": frames})
