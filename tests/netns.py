"""Runs a command inside a private network namespace that the test creates.

Everything that sends packets in the test suite goes through here, so no datagram can leave for an
address outside a namespace we made. Inside, loopback is up with multicast on and 224.0.0.0/4 routed to
it, which is what GStreamer, ffmpeg and our own sockets need to join groups without naming an interface.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

SETUP = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"


def available() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--net", "--map-root-user", "sh", "-c", SETUP], capture_output=True, timeout=30
    )
    return probe.returncode == 0


def command(argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` in a fresh namespace (the namespace dies with the process)."""
    return ["unshare", "--net", "--map-root-user", "sh", "-c", SETUP + ' && exec "$@"', "netns", *argv]


def run(argv: Sequence[str], timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        command(argv), capture_output=True, text=True, timeout=timeout, env=env, **kwargs
    )


def run_python(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m module args`` (the same interpreter as the tests) in a fresh namespace."""
    return run([sys.executable, "-m", module, *args], timeout=timeout)
