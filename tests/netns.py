"""Runs commands inside a private network namespace that the test creates (see engine/netns.py).

Everything that sends packets in the test suite goes through here, so no datagram can leave for an
address outside a namespace we made.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from engine.netns import available, command, enter_command

__all__ = ["available", "command", "enter_command", "run", "run_python"]


def run(argv: Sequence[str], timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(  # type: ignore[call-overload]
        command(argv), capture_output=True, text=True, timeout=timeout, env=env, **kwargs
    )


def run_python(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m module args`` (the same interpreter as the tests) in a fresh namespace."""
    return run([sys.executable, "-m", module, *args], timeout=timeout)
