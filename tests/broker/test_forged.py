"""A broker break-in cannot make a 4G cluster speak (scenario_forged.py): forged plain RTP, SRTP under the
attacker's own key, and a replay of a recorded genuine broadcast play 0 frames; the genuine one plays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import netns
from tests.broker.scenario_forged import SECONDS
from tests.streaming.harness import load

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_forged_and_replayed_media_on_a_group_topic_play_nothing_at_a_4g_cluster(tmp_path: Path) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_forged", str(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    far = load(tmp_path, "far")
    by_ssrc: dict[int, int] = {}
    for ssrc, _, _, kind, _ in far.meta["frames"]:
        if kind != "silence":
            by_ssrc[ssrc] = by_ssrc.get(ssrc, 0) + 1
    assert set(by_ssrc) == {r["genuine"]}, by_ssrc  # nothing of the forgeries, not even concealment
    # the genuine broadcast played once, whole: its replay added no frame
    assert SECONDS * 50 - 2 <= by_ssrc[r["genuine"]] <= SECONDS * 50 + 3
    assert r["replayed_messages"] >= SECONDS * 10 - 2
    assert far.meta["srtp"]["rejected"] > SECONDS * 50  # the forged and replayed datagrams, refused
