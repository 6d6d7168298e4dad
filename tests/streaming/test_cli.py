"""``sdp`` and ``loa speaker`` argument handling (nothing here sends a packet)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loa(*args: str, module: str = "engine") -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", module, *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_streaming_sdp_prints_a_plain_groups_description_offline() -> None:
    # `loa sdp GROUP_ID` asks the server (tests/api/test_third_party_receivers.py); offline is streaming's
    out = loa("sdp", "239.10.0.5:5004:emergency:300", "--bitrate", "24000", "--ttl", "4", module="streaming")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "c=IN IP4 239.10.0.5/4" in lines and "a=rtpmap:96 opus/48000/2" in lines
    assert "maxaveragebitrate=24000" in out.stdout and "a=x-loa-playout-delay:300" in out.stdout


def test_streaming_runs_alone_as_a_module() -> None:
    out = loa("sdp", "239.10.0.5:5004", "--loa-time-sync", module="streaming")
    assert out.returncode == 0 and "a=ts-refclk:local" in out.stdout.splitlines()


def test_bad_arguments_exit_2_with_a_message_naming_them() -> None:
    out = loa("sdp", "239.10.0.5:5004:urgent", module="streaming")
    assert out.returncode == 2 and "priority" in out.stderr
    out = loa("sdp", "239.10.0.5:5004", "--bitrate", "100", module="streaming")
    assert out.returncode == 2 and "bitrate" in out.stderr
    out = loa("speaker", "--group", "239.10.0.5")
    assert out.returncode == 2 and "ADDR:PORT" in out.stderr
    out = loa("speaker", "--group", "239.10.0.5:5004", "--sink", "out.mp3")
    assert out.returncode == 2 and "sink" in out.stderr
