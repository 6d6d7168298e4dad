"""4G speakers through faults on their broker link (scenario_faults.py): they resume in sync after a 10 s
outage and after a broker restart, lose no more than a stall longer than their playout delay takes, and
never play a frame late. Reference: a LAN speaker hearing the same broadcast on multicast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streaming.broker.client import Settings
from tests import netns
from tests.broker.scenario_faults import BULLETIN, DOWN_S, OUTAGE_S, SECONDS, STALL_S
from tests.streaming.harness import Recording, load, skews

pytestmark = [pytest.mark.netns, pytest.mark.slow]

RECONNECT_S = Settings.backoff_max_s + 1.5  # the last backoff step, plus the TLS handshake and SUBACK


def _run(tmp_path: Path, case: str) -> dict[str, Any]:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_faults", str(tmp_path), case, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _heard(rec: Recording, lan: Recording) -> np.ndarray:
    """The true times at which the LAN speaker played the frames that ``rec`` played from packets."""
    reference = lan.play_times()
    keys = [(f[0], f[1]) for f in rec.meta["frames"] if f[3] == "packet"]
    return np.array(sorted(reference[k] for k in keys if k in reference))


def _gap(times: np.ndarray) -> tuple[float, float]:
    """(longest silence between frames played, when it began) in seconds of the LAN's time."""
    steps = np.diff(times)
    i = int(steps.argmax())
    return float(steps[i]), float(times[i])


def _in_sync(rec: Recording, lan: Recording) -> None:
    spread = skews([lan, rec])
    assert len(spread) > 50
    assert np.percentile(spread, 99) < 0.001, rec.meta["name"]
    assert rec.meta["srtp"]["rejected"] == 0


def test_a_4g_cluster_resumes_in_sync_after_a_10s_outage_and_a_stall_costs_only_what_the_delay_cannot_hide(
    tmp_path: Path,
) -> None:
    r = _run(tmp_path, "link")
    ev = r["events"]
    lan, cut, stall = (load(tmp_path, n) for n in ("lan", "cut", "stall"))
    assert set(lan.kinds()) == {"packet"} and lan.kinds()["packet"] >= SECONDS["link"] * 50 - 2

    heard = _heard(cut, lan)
    gap, began = _gap(heard)
    # the playout delay hides the first 1.5 s of the outage; reconnecting adds at most a backoff step
    assert OUTAGE_S - 2.0 < gap < OUTAGE_S + RECONNECT_S, gap
    assert abs(began - ev["fault"]) < 2.0
    assert heard[-1] > ev["outage_end"] + 1.0  # it came back and played on, to the end of the broadcast
    _in_sync(cut, lan)
    # presence saw it: offline (the broker's last will) at the fault, online again after the outage
    states = [(s, t) for c, s, t in r["statuses"] if c == "c-cut"]
    offline = [t for s, t in states if s == "offline" and t < ev["outage_end"]]
    assert offline and abs(offline[0] - ev["fault"]) < 1.0
    assert any(s == "online" and ev["outage_end"] < t < ev["outage_end"] + RECONNECT_S for s, t in states)
    assert r["relay_accepts"]["cut"] >= 2  # a second connection: it reconnected, not resumed a stalled one
    # its play reports show the gap: the part before the outage timed out; the rest is a second report
    reports = [p for p in cut.meta["play_reports"] if p["bulletin"] == BULLETIN]
    assert [p["stop"] for p in reports] == ["timeout", "end"], reports
    hole = reports[1]["started_at"] - reports[0]["ended_at"]
    assert abs(hole - gap) < 0.25, (hole, gap)  # the report counts a little concealment at the edges
    assert sum(p["played"] for p in reports) == pytest.approx(len(heard), abs=5)

    heard = _heard(stall, lan)
    gap, began = _gap(heard)
    assert gap < STALL_S, gap  # bytes late by more than the 1.5 s delay were skipped, the rest played
    assert len(heard) > SECONDS["link"] * 50 - STALL_S * 50
    _in_sync(stall, lan)  # nothing that came late was played late
    assert r["relay_accepts"]["stall"] == 1  # the stall never dropped the connection


def test_4g_clusters_come_back_in_sync_after_a_broker_restart(tmp_path: Path) -> None:
    r = _run(tmp_path, "restart")
    lan, far = load(tmp_path, "lan"), load(tmp_path, "far")
    heard = _heard(far, lan)
    gap, _ = _gap(heard)
    assert gap < DOWN_S + RECONNECT_S + 1.0, gap
    assert heard[-1] > r["events"]["restarted"] + 2.0
    _in_sync(far, lan)
    assert r["publisher"]["unsent"] > 0  # the server's publishes failed while the broker was down
