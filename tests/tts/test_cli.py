"""``loa say`` and ``loa voices``, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from engine.tts.audiofile import encode


def loa(*args: str, env_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args, "--voices-dir", str(env_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_say_writes_wav_and_reports_timing(tmp_path: Path) -> None:
    out = tmp_path / "bulletin.wav"
    result = loa("say", "-o", str(out), "Xin chào bà con. Hôm nay trời đẹp.", env_dir=tmp_path / "v")
    assert result.returncode == 0, result.stderr
    assert "time to first audio" in result.stdout and "real-time factor" in result.stdout
    audio, rate = soundfile.read(out)
    assert rate == 48_000 and 1.0 < audio.size / rate < 8.0


def test_say_reads_stdin_to_ogg_opus(tmp_path: Path) -> None:
    out = tmp_path / "bulletin.ogg"
    result = loa("say", "-o", str(out), "-", env_dir=tmp_path / "v", stdin="Xin chào bà con.")
    assert result.returncode == 0, result.stderr
    decoded = subprocess.run(["opusdec", "--quiet", str(out), str(tmp_path / "d.wav")], capture_output=True)
    assert decoded.returncode == 0, decoded.stderr
    audio, rate = soundfile.read(tmp_path / "d.wav")
    assert rate == 48_000 and audio.size > 0.5 * 48_000


def test_say_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    result = loa("say", "--voice", "nope", "Xin chào.", env_dir=tmp_path / "v")
    assert result.returncode == 2 and "voice_id" in result.stderr
    result = loa("say", "-o", str(tmp_path / "x.mp3"), "Xin chào.", env_dir=tmp_path / "v")
    assert result.returncode == 2 and "output" in result.stderr


def test_say_refuses_a_speed_the_api_refuses(tmp_path: Path) -> None:
    result = loa("say", "--speed", "8", "Xin chào.", env_dir=tmp_path / "v")
    assert result.returncode == 2
    assert "--speed: 8.0 not in (0.25, 4]" in result.stderr


def test_voices_list_install_remove(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    voices = tmp_path / "v"
    result = loa("voices", "install", "--quiet", str(tiny_models["mms"].parent), env_dir=voices)
    assert result.returncode == 0, result.stderr
    listing = loa("voices", "list", env_dir=voices).stdout
    rows = {line.split()[0]: line for line in listing.splitlines() if line.strip()}
    assert "installed" in rows["mms-khm"] and "CC-BY-NC-4.0" in rows["mms-khm"]
    assert "built-in" in rows["espeak-vi"] and "fallback" in rows["espeak-vi"]
    assert "available" in rows["vi_VN-vais1000-medium"]
    said = loa("say", "--lang", "km", "-o", str(tmp_path / "km.wav"), "សួស្តី abc", env_dir=voices)
    assert said.returncode == 0, said.stderr
    assert "could not read 'a'" in said.stderr
    assert loa("voices", "remove", "mms-khm", env_dir=voices).returncode == 0
    assert loa("voices", "remove", "mms-khm", env_dir=voices).returncode == 1


def test_ogg_opus_file_is_valid(tmp_path: Path) -> None:
    t = np.arange(48_000 * 3) / 48_000
    path = tmp_path / "tone.ogg"
    path.write_bytes(encode((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), "ogg_opus"))
    info = subprocess.run(["opusinfo", str(path)], capture_output=True, text=True)
    assert info.returncode == 0 and "WARNING" not in info.stdout + info.stderr
    assert "Playback length: 0m:03.000s" in info.stdout
