"""What the help texts promise is what the commands accept (#13): "24h ago" as a log bound, one set of
dialects wherever --dialect is offered, a broadcast log Excel reads as UTF-8 (the BOM the speakers'
log has, from the same writer), and `loa say` progress on stderr only."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import soundfile as sf

from engine.api.token_cli import parse_when
from engine.cli import build_parser
from engine.csvfile import BOM, csv_text, read_rows
from engine.jobs.model import BroadcastSpec, Group, Segment
from engine.jobs.store import Store
from engine.timefmt import parse_time
from engine.tts.limits import DIALECTS

NOW = 1_800_000_000.0


def loa(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    return subprocess.run(
        [sys.executable, "-m", "engine", *argv], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


def test_an_age_reads_the_same_with_or_without_ago() -> None:
    utc = ZoneInfo("UTC")
    assert (
        parse_time("24h ago", utc, sign=-1, now=NOW)
        == parse_time("24h", utc, sign=-1, now=NOW)
        == NOW - 86400
    )
    assert parse_when("7d ago", "--since", now=NOW) == parse_when("7d", "--since", now=NOW) == NOW - 7 * 86400


def test_the_broadcast_log_takes_24h_ago_and_opens_in_excel_as_utf8(tmp_path: Path) -> None:
    with Store(tmp_path / "loa.db") as store:
        store.create_group(Group("ap-1", multicast_address="239.192.60.1", port=5004))
        spec = BroadcastSpec(segments=(Segment(text="Xin chào."),), group_ids=("ap-1",), title="Ấp Phú Hòa")
        store.create_broadcast(spec)
    for since in ("24h ago", "24h"):
        done = loa("broadcast", "log", "--since", since, "--state-dir", str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(BOM + "broadcast_id,")
        (row,) = read_rows(done.stdout)
        assert row["title"] == "Ấp Phú Hòa"
    written = tmp_path / "log.csv"
    assert (
        loa(
            "broadcast", "log", "--since", "1d ago", "-o", str(written), "--state-dir", str(tmp_path)
        ).returncode
        == 0
    )
    assert written.read_bytes().startswith(b"\xef\xbb\xbfbroadcast_id,")  # the BOM Excel looks for


def test_csv_text_writes_sequences_and_mappings_alike() -> None:
    text = csv_text(("a", "b"), [("Hòa", 1), {"a": "x,y", "b": 2}])
    assert text == BOM + 'a,b\r\nHòa,1\r\n"x,y",2\r\n'
    assert read_rows(text) == [{"a": "Hòa", "b": "1"}, {"a": "x,y", "b": "2"}]


def test_every_dialect_option_offers_the_one_set() -> None:
    offered = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if "--dialect" in action.option_strings:
                offered.append((path, tuple(action.choices or ())))
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")

    walk(build_parser(), "loa")
    commands = {path for path, _ in offered}
    assert {"loa say", "loa broadcast send"} <= commands
    assert all(choices == tuple(DIALECTS) for _, choices in offered), offered


def test_say_shows_progress_per_piece_on_stderr_only(tmp_path: Path) -> None:
    text = "Xin chào bà con. Hôm nay trời nắng. Buổi chiều có mưa rào. Bà con chú ý giữ gìn sức khỏe."
    out = tmp_path / "say.wav"
    shown = loa("say", text, "-o", str(out), "--progress", "--voices-dir", str(tmp_path / "none"))
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stderr.splitlines() if line.startswith("loa say: piece ")]
    assert len(lines) >= 4 and lines[-1].startswith(f"loa say: piece {len(lines)}/{len(lines)}, sentence 4/4")
    assert "piece" not in shown.stdout and f"wrote {out}" in shown.stdout
    assert sf.info(out).duration > 1.0
    quiet = loa("say", text, "-o", str(out), "--voices-dir", str(tmp_path / "none"))  # stderr not a terminal
    assert quiet.returncode == 0 and "piece" not in quiet.stderr
