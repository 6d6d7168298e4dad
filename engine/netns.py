"""Private network namespaces for the demo and the tests: nothing they send can leave the machine.

Inside, loopback is up with multicast on and 224.0.0.0/4 routed to it, which is what our sockets,
GStreamer and ffmpeg need to join groups without naming an interface. The namespace dies with the
process; processes started with :func:`enter_command` join an existing one (as root).
"""

from __future__ import annotations

import shutil
import subprocess
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
    """The argv that runs ``argv`` in a fresh namespace."""
    return ["unshare", "--net", "--map-root-user", "sh", "-c", SETUP + ' && exec "$@"', "netns", *argv]


def enter_command(pid: int, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` in the network namespace of process ``pid`` (needs root)."""
    return ["nsenter", "-t", str(pid), "-n", *argv]
