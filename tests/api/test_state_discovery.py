"""Commands that need a server's state find it (--state-dir, --config, LOA_CONFIG, LOA_STATE_DIR,
/etc/loa/loa.toml, /var/lib/loa) or fail saying what to pass; none of them creates a state directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import config
from engine.jobs.store import Store
from engine.netns import command


def served(path: Path) -> Path:
    """A state directory as `loa serve` leaves it."""
    path.mkdir(mode=0o700, exist_ok=True)
    Store(path / "loa.db").close()
    return path


def find(tmp_path: Path, env: dict[str, str], **kw: Path) -> Path:
    found = config.server_state(
        kw.get("config_path"),
        kw.get("state_dir"),
        env,
        system_config=tmp_path / "etc-loa.toml",
        system_state=tmp_path / "var-lib-loa",
    )
    return found.state_dir


def test_each_place_is_looked_at_in_order(tmp_path: Path) -> None:
    a, b, c, d = (served(tmp_path / n) for n in ("a", "b", "c", "d"))
    toml = tmp_path / "loa.toml"
    toml.write_text(f'state_dir = "{b}"\n')
    assert find(tmp_path, {}, state_dir=a, config_path=toml) == a  # --state-dir first
    assert find(tmp_path, {}, config_path=toml) == b  # --config
    assert find(tmp_path, {"LOA_CONFIG": str(toml)}) == b
    assert find(tmp_path, {"LOA_STATE_DIR": str(c)}) == c
    system = tmp_path / "etc-loa.toml"
    system.write_text(f'state_dir = "{d}"\n')
    assert find(tmp_path, {}) == d  # /etc/loa/loa.toml
    system.unlink()
    served(tmp_path / "var-lib-loa")
    assert find(tmp_path, {}) == tmp_path / "var-lib-loa"  # /var/lib/loa


def test_nothing_found_says_what_to_pass_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as nothing:
        find(tmp_path, {})
    assert "pass --state-dir DIR or --config FILE, or set LOA_CONFIG or LOA_STATE_DIR" in str(nothing.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    for kw, env in (({"state_dir": tmp_path / "missing"}, {}), ({}, {"LOA_STATE_DIR": str(empty)})):
        with pytest.raises(ValueError) as wrong:
            find(tmp_path, env, **kw)
        assert "holds no Loa server state" in str(wrong.value) and "loa serve" in str(wrong.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"] and not any(empty.iterdir())


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    if config.SYSTEM_CONFIG.exists() or any(
        (config.SYSTEM_STATE_DIR / m).exists() for m in config.STATE_MARKERS
    ):
        pytest.skip("this machine has a Loa server installed in the system paths")
    return {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}


@pytest.mark.parametrize(
    "argv",
    [
        ("token", "create", "--name", "x", "--role", "admin"),
        ("token", "list"),
        ("audit", "export"),
        ("keys", "export", "--out", "keys.json"),
        ("keys", "rotate", "--group", "ap-1"),
        ("broadcast", "log", "--since", "24h"),
    ],
)
def test_a_command_without_state_fails_clearly_and_makes_no_state_dir(
    tmp_path: Path, bare_env: dict[str, str], argv: tuple[str, ...]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine", *argv], cwd=tmp_path, env=bare_env, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "--state-dir" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # no ./state, no empty keys.json


def test_an_export_of_no_keys_is_an_error(tmp_path: Path, bare_env: dict[str, str]) -> None:
    state = served(tmp_path / "state")
    out = tmp_path / "keys.json"
    done = subprocess.run(
        [sys.executable, "-m", "engine", "keys", "export", "--out", str(out)],
        env={**bare_env, "LOA_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no group has SRTP keys" in done.stderr and not out.exists()


@pytest.mark.netns
def test_serve_and_the_state_commands_read_the_same_loa_config(
    tmp_path: Path, bare_env: dict[str, str]
) -> None:
    state = tmp_path / "srv-state"
    toml = tmp_path / "loa.toml"
    toml.write_text(f'state_dir = "{state}"\nlisten = "unix:{tmp_path}/loa.sock"\nmetrics_port = 0\n')
    env = {**bare_env, "LOA_CONFIG": str(toml), "LOA_VOICES_DIR": str(tmp_path / "voices")}
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command([sys.executable, "-m", "engine", "serve"]), stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 60
        while "serving on" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        listed = subprocess.run(
            [sys.executable, "-m", "engine", "token", "list"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert listed.returncode == 0, listed.stderr
        assert "admin" in listed.stdout  # the first admin token loa serve made in the configured state dir
        assert not (tmp_path / "state").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    "argv",
    [
        ("keys", "export"),
        ("keys", "rotate", "--group", "ap-1"),
        ("token", "list"),
        ("token", "create", "--name", "x", "--role", "viewer"),
        ("audit", "export"),
        ("broadcast", "log", "--since", "1h"),
    ],
)
def test_a_damaged_store_is_one_line_not_a_traceback(
    tmp_path: Path, bare_env: dict[str, str], argv: tuple[str, ...]
) -> None:
    for name in ("loa.db", "tokens.sqlite3", "audit.sqlite3"):
        (tmp_path / name).write_bytes(b"not a database " * 20)
    done = subprocess.run(
        [sys.executable, "-m", "engine", *argv, "--state-dir", str(tmp_path)],
        env=bare_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "not a database" in done.stderr
