"""kill -9 mid-broadcast and mid-request, restart on the same state directory: nothing acknowledged is lost,
no retried request is stored twice, and the interrupted bulletin says where it was cut and airs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import crash
from tests.reliability.harness import Loa

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ROUNDS = 6
UNLIMITED = {"LOA_MAX_QUEUED_NORMAL": "1000000"}  # the loop piles up requests; admission is tested elsewhere


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    loa = Loa(tmp_path, tmp_path / "state", env=UNLIMITED).start()
    try:
        report = crash.kill_loop(loa, ROUNDS)
    finally:
        loa.stop()
    assert len(report.rounds) == ROUNDS
    assert report.acknowledged > ROUNDS * 5, "too few requests were acknowledged for the loop to mean much"
    assert report.lost == 0, report.rounds
    assert report.duplicated == 0, report.rounds
    cuts = [r.interrupted_at for r in report.rounds]
    assert all(cut is not None for cut in cuts), report.rounds  # every kill recorded where it cut
    assert cuts == sorted(cuts), f"progress went backwards across restarts: {cuts}"  # type: ignore[type-var]
    assert all(r.resumed for r in report.rounds)
