"""The design card's layout, the import rule that lets a speaker run streaming/ alone, and the CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_top_level_layout() -> None:
    for name in ("engine", "protos", "models", "streaming", "bench", "tests"):
        assert (ROOT / name).is_dir(), name
    for name in ("Dockerfile", "pyproject.toml", "README.md", "Makefile", ".ci/run"):
        assert (ROOT / name).is_file(), name


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_streaming_never_imports_engine() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "streaming").rglob("*.py"))
        for name in _imported_modules(path)
        if name == "engine" or name.startswith("engine.")
    ]
    assert offenders == []


def test_streaming_runs_without_engine_installed() -> None:
    """A speaker has only streaming/: importing all of it must not pull engine in, even indirectly."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "streaming").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'engine' or m.startswith('engine.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


SUBCOMMANDS = ("serve", "say", "normalize", "voices", "speaker", "broadcast", "sdp", "group", "health")


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "engine", command, "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert f"loa {command}" in out.stdout
