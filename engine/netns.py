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


# Addresses of the hosts made by :func:`add_host`: 198.18.0.0/15 is reserved for benchmarking (RFC 2544),
# so these addresses never mean anything outside the namespaces we make.
HOST_NET = "198.18.0"
HOST_GATEWAY = f"{HOST_NET}.1"
BRIDGE = "loabr0"


class RemoteHost:
    """A second host inside the current namespace: its own network namespace joined by a veth pair.

    It reaches the current namespace (``HOST_GATEWAY``) but has no multicast route, so it hears no group:
    what a 3G/4G cluster behind carrier NAT is to the source system. Must be made from inside a namespace
    of ours (``command``), where we are root; ``close`` (or the parent namespace's end) removes it.
    """

    def __init__(self, index: int) -> None:
        if not 2 <= index <= 254:
            raise ValueError(f"host index {index} not in 2..254")
        self.address = f"{HOST_NET}.{index}"
        self._holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"])
        outer, inner = f"h{index}a", f"h{index}b"
        try:
            # every host's outer end joins one bridge holding the gateway address, made by the first host
            _sh(
                f"ip link show {BRIDGE} >/dev/null 2>&1 || (ip link add {BRIDGE} type bridge && "
                f"ip addr add {HOST_GATEWAY}/24 dev {BRIDGE} && ip link set {BRIDGE} up)"
            )
            _sh(f"ip link add {outer} type veth peer name {inner}")
            _sh(f"ip link set {inner} netns {self._holder.pid}")
            _sh(f"ip link set {outer} master {BRIDGE} && ip link set {outer} up")
            _sh(
                f"ip link set lo up; ip addr add {self.address}/24 dev {inner}; ip link set {inner} up",
                self._holder.pid,
            )
        except Exception:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self._holder.pid

    def command(self, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` on this host."""
        return enter_command(self._holder.pid, argv)

    def close(self) -> None:
        self._holder.kill()
        self._holder.wait()


def _sh(script: str, pid: int | None = None) -> None:
    argv = ["sh", "-c", script]
    subprocess.run(enter_command(pid, argv) if pid else argv, check=True, capture_output=True, timeout=30)
