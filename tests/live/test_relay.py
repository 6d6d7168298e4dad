"""The relay against real stations: icecast2 fed by ffmpeg (MP3, Ogg/Opus), ffmpeg as an RTP source
described by an SDP, ffmpeg writing live HLS (AAC) served over HTTP, a TCP relay that stalls the
stream, a dead primary, garbage over HTTP. One namespace runs every case (tests/live/relay_scenario.py,
~45 s: the cases run side by side)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from engine.live.relay import Relay
from engine.live.urls import UrlPolicy
from tests.live import stations

pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(not stations.available(), reason="needs icecast2, ffmpeg, unshare and ip"),
]

RATE = 48_000


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    argv = stations.namespace_command([sys.executable, "-m", "tests.live.relay_scenario"])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def case(results: dict[str, Any], name: str) -> dict[str, Any]:
    r: dict[str, Any] = results[name]
    assert "exception" not in r, r
    return r


@pytest.mark.parametrize("name", ["mp3", "opus", "rtp", "hls"])
def test_the_relayed_audio_is_the_source_at_one_constant_lag(results: dict[str, Any], name: str) -> None:
    r = case(results, name)
    assert r["gaps"] == 0
    assert r["corr_start"] > 0.9 and r["corr_end"] > 0.9  # below 2 kHz, after the codec
    assert r["lag_start"] == r["lag_end"]  # no drift over the relay (15 s for MP3)


def test_a_relay_ends_at_its_duration_at_the_clocks_pace(results: dict[str, Any]) -> None:
    r = case(results, "mp3")
    assert r["seconds"] == pytest.approx(15.0)
    assert r["end"] == "duration reached"
    assert 15.0 < r["wall_s"] < 15.0 + 2.5  # the target latency (1.5 s) plus the connection


def test_a_stalled_stream_is_a_gap_with_its_cause_and_length_and_the_relay_recovers(
    results: dict[str, Any],
) -> None:
    r = case(results, "stall")
    [(start, length, cause)] = r["gaps"]
    assert cause == "stalled"
    # the buffer (1.5 s) covers the start of the 3 s stall; the gap lasts until a new connection
    # refilled it
    assert 0.5 < start < 2.5
    assert 1.0 < length < 5.0
    assert r["faults"][0] == "stalled: nothing for 1.5 s"
    assert r["tail_rms"] > 0.05  # the source's audio again at the end


def test_a_dead_primary_switches_to_the_backup(results: dict[str, Any]) -> None:
    r = case(results, "backup")
    assert r["faults"] == ["unreachable: 127.0.0.1: Connection refused"]
    assert r["seconds"] == pytest.approx(4.0) and r["rms"] > 0.05
    assert r["gaps"] == 0  # nothing had aired yet: a late start, not a gap


def test_garbage_over_http_is_malformed_and_the_relay_fails_with_the_reason(results: dict[str, Any]) -> None:
    r = case(results, "malformed")
    assert r["error"].startswith("live.url: the source did not come up in 4 s")
    assert "malformed" in r["error"]
    assert r["wall_s"] < 8.0


def test_threads_and_descriptors_return_to_baseline_after_many_relays(results: dict[str, Any]) -> None:
    r = case(results, "leaks")
    assert r["threads"][1] == r["threads"][0]
    assert r["fds"][1] == r["fds"][0]


def test_a_long_relays_memory_stays_flat(results: dict[str, Any]) -> None:
    rss = case(results, "memory")["rss_mib"]
    assert len(rss) >= 8
    assert max(rss) - rss[0] < 4.0


def test_a_relay_without_an_end_is_refused() -> None:
    with pytest.raises(ValueError, match="duration or an end time"):
        Relay("http://stream.example.com/a.mp3")


def test_a_relay_of_an_internal_address_is_refused_before_it_starts() -> None:
    with pytest.raises(ValueError, match=r"live.backup_urls\[0\]: 10.0.0.5 is a private"):
        Relay("http://stream.example.com/a.mp3", ["http://10.0.0.5/a.mp3"], duration_s=5, policy=UrlPolicy())
