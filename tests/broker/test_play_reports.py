"""A broker-only speaker's play report reaches the server with the frame counts it played, and its
status says who it is (scenario_reports.py, real Mosquitto in a namespace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import netns
from tests.streaming.harness import load

pytestmark = [pytest.mark.netns, pytest.mark.slow]

SECONDS = 3.0


def test_a_broker_only_speaker_reports_what_it_played_to_the_server(tmp_path: Path) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_reports", str(tmp_path), str(SECONDS), timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    far = load(tmp_path, "far")
    assert far.meta["multicast_sockets"] == 0  # --no-multicast: the group address is only a name
    frames = [f for f in far.meta["frames"] if f[0] == r["ssrc"]]
    kinds = {k: sum(f[3] == k for f in frames) for k in ("packet", "fec", "plc", "silence")}
    assert kinds["packet"] >= SECONDS * 50 - 2
    [(cluster, report)] = r["reports"]
    assert cluster == "c-far"
    assert (report["bulletin"], report["airing"], report["stop"]) == ("b-42", 1, "end")
    assert report["played"] == kinds["packet"] + kinds["fec"] + kinds["plc"]
    assert report["concealed"] == kinds["fec"] + kinds["plc"] and report["lost"] == kinds["silence"]
    assert report["ended_at"] - report["started_at"] == pytest.approx(report["played"] * 0.02, abs=0.021)
    assert far.meta["play_reports"] == [report] and far.meta["reports_queued"] == 0
    online = [s for c, s in r["statuses"] if c == "c-far" and s["state"] == "online"]
    assert online and online[0]["network"] == "4g" and online[0]["version"]
    assert online[0]["error"] == ""  # keys from the bundle, clock from the system: nothing wrong
    assert r["statuses"][-1][1]["state"] == "offline"
