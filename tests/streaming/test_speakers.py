"""Speakers as real processes in a private network namespace: sync, priority, loss, and ffmpeg interop."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests import netns
from tests.streaming.harness import Recording, load, skews, speech_like

ROOT = Path(__file__).resolve().parents[2]
LOOKAHEAD = 312 / 48_000  # the first packet's RTP time is the look-ahead before source sample 0
DELAY = 0.5

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def scenario(name: str, *args: object, timeout: float = 90, env: dict[str, str] | None = None) -> dict:
    variables = [f"{k}={v}" for k, v in (env or {}).items()]
    argv = ["env", *variables, sys.executable, "-m", f"tests.streaming.{name}", *map(str, args)]
    out = netns.run(argv, timeout=timeout, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip().startswith("{") else {}


def test_eight_speakers_play_a_10_s_stream_identically_and_in_sync(tmp_path: Path) -> None:
    result = scenario("scenario_sync", tmp_path, 8, 10.0)
    recordings = [load(tmp_path, f"spk{i}") for i in range(8)]
    for r in recordings:
        assert r.kinds() == {"packet": 501}, r.kinds()  # 10 s + the frame flushing the encoder
        assert r.meta["underruns"] == 0
    spread = skews(recordings)
    assert len(spread) == 501
    assert np.percentile(spread, 99) < 0.001
    # identical audio: on the shared sample grid every speaker emitted the very same samples
    lo = max(r.first_index for r in recordings)
    hi = min(r.first_index + len(r.audio) for r in recordings)
    reference = recordings[0].audio[lo - recordings[0].first_index : hi - recordings[0].first_index]
    assert np.abs(reference).max() > 0.1
    for r in recordings[1:]:
        np.testing.assert_array_equal(r.audio[lo - r.first_index : hi - r.first_index], reference)
    # the sender heard from all of them, without loss
    assert sorted(s["cname"] for s in result["speakers"]) == [f"spk{i}" for i in range(8)]
    assert all(s["cumulative_lost"] == 0 and s["media_ssrc"] == result["ssrc"] for s in result["speakers"])
    # the speaker's own metrics, served on --metrics-port
    assert 'loa_speaker_frames_total{kind="packet"} 501.0' in result["metrics"]
    assert "loa_speaker_underruns_total 0.0" in result["metrics"]


def test_time_sync_keeps_speakers_with_offset_drifting_clocks_in_sync(tmp_path: Path) -> None:
    clocks = [[200, 100, True], [-200, -100, True], [150, 0, False]]  # the last one does not sync
    scenario("scenario_sync", tmp_path, 4, 4.0, env={"LOA_CLOCKS": json.dumps(clocks)})
    recordings = [load(tmp_path, f"spk{i}") for i in range(4)]
    synced = [recordings[0], recordings[1], recordings[3]]  # two simulated clocks + the system clock
    assert all(r.kinds() == {"packet": 201} for r in synced)
    assert recordings[0].meta["offset"] == pytest.approx(-0.2, abs=0.002)
    assert recordings[1].meta["offset"] == pytest.approx(0.2, abs=0.002)
    assert np.percentile(skews(synced), 99) < 0.002
    # without time sync the speaker plays exactly its clock's offset early: the check above can fail
    unsynced = skews([recordings[2], recordings[3]])
    assert np.median(unsynced) == pytest.approx(0.15, abs=0.002)


def _first_played(r: Recording, ssrc: int) -> float:
    return min(r.true_time(f[2]) for f in r.meta["frames"] if f[0] == ssrc)


def test_emergency_preempts_normal_at_its_presentation_time_and_normal_resumes(tmp_path: Path) -> None:
    result = scenario("scenario_priority", tmp_path, 3)
    normal, normal_start = result["normal"]
    emergency, emergency_start = result["emergency"]
    emergency_frames = -(-result["emergency_samples"] // 960) + 1
    for i in range(3):
        r = load(tmp_path, f"spk{i}")
        frames = r.meta["frames"]
        e_times = sorted(r.true_time(f[2]) for f in frames if f[0] == emergency)
        assert len(e_times) == emergency_frames, "the whole emergency bulletin played"
        assert abs(e_times[0] - (emergency_start - LOOKAHEAD + DELAY)) < 0.02, "within one frame"
        e_end = e_times[-1] + 0.02
        n_times = sorted(r.true_time(f[2]) for f in frames if f[0] == normal)
        assert n_times[0] == pytest.approx(normal_start - LOOKAHEAD + DELAY, abs=0.02)
        assert not [t for t in n_times if e_times[0] - 1e-4 <= t < e_end - 1e-4], "normal silenced meanwhile"
        assert any(t < e_times[0] for t in n_times)
        resumed = [t for t in n_times if t >= e_end - 1e-4]
        assert resumed and resumed[0] - e_end < 0.02, "normal resumes within a frame of the emergency's end"
        assert {f[4] for f in frames if f[0] == emergency} == {3}


def test_five_percent_loss_and_30_ms_jitter_are_concealed_and_stay_in_sync(tmp_path: Path) -> None:
    result = scenario("scenario_loss", tmp_path, 2, 6.0)
    assert result["dropped"] > 5
    direct = load(tmp_path, "direct")
    lossy = [load(tmp_path, f"lossy{i}") for i in range(2)]
    total = 301
    assert direct.kinds() == {"packet": total}
    for r in lossy:
        kinds = r.kinds()
        assert sum(kinds.values()) == total
        assert kinds.get("fec", 0) > 0, "in-band FEC rebuilt lost frames"
        assert kinds["packet"] + kinds.get("fec", 0) >= 0.99 * total
        assert kinds.get("silence", 0) == 0
    spread = skews([direct, *lossy])
    assert len(spread) == total and np.percentile(spread, 99) < 0.001
    table = {s["cname"]: s for s in result["speakers"]}
    assert table["direct"]["cumulative_lost"] == 0
    for i in range(2):
        assert table[f"lossy{i}"]["cumulative_lost"] > 0
        assert table[f"lossy{i}"]["jitter_s"] > 0.005


def test_ffmpeg_given_our_sdp_decodes_our_multicast_stream(tmp_path: Path) -> None:
    scenario("scenario_ffmpeg", tmp_path, 3.0)
    theirs, _ = soundfile.read(str(tmp_path / "ffmpeg.wav"), dtype="float32")
    ours, _ = soundfile.read(str(tmp_path / "ours.wav"), dtype="float32")
    assert abs(len(theirs) - len(ours)) <= 960, (len(theirs), len(ours))
    n = min(len(theirs), len(ours)) - 1000
    similarity = {
        lag: float(np.corrcoef(ours[1000 : n - 50], theirs[1000 + lag : n - 50 + lag])[0, 1])
        for lag in range(-40, 41)
    }
    lag = max(similarity, key=lambda k: similarity[k])
    assert abs(lag) <= 24, "ffmpeg placed the audio where our RTP timestamps say (within 0.5 ms)"
    assert similarity[lag] > 0.99
    source = speech_like(3.0, seed=3)
    assert (
        np.corrcoef(source[2000:-2000], theirs[2000 + 312 - 20 : len(source) - 2000 + 312 - 20])[0, 1] > 0.5
    )
