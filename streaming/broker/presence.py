"""What a cluster says about itself in its retained status (``c/{cluster}/status``), as pure parts.

The operator needs, per cluster, what the vendors' consoles show: which software, up since when, on
which network, what is wrong, and how hot the box is (a cluster sits in a metal case on a pole in the
sun). The agent (receiver.py) publishes a :class:`streaming.broker.messages.Status` on every connect,
whenever :func:`error_state` changes, and every :data:`REFRESH_S` besides, so a status that stopped
changing still says the cluster was alive a minute ago.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Sequence
from pathlib import Path

from streaming.broker.messages import State, Status

REFRESH_S = 60.0
NETWORKS = ("4g", "3g", "lan", "vpn")
THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")  # millidegrees Celsius on Linux boards
MAX_ERROR = 256  # Status.error's limit


def package_version() -> str:
    try:
        return importlib.metadata.version("loa")[:32]
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def read_temperature(path: Path = THERMAL_ZONE) -> float | None:
    """The board's temperature in °C, or None where there is no readable, plausible sensor."""
    try:
        celsius = int(path.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None
    return round(celsius, 1) if -60 <= celsius <= 150 else None


def error_state(
    *,
    refusal: str = "",
    missing_keys: Sequence[str] = (),
    key_error: str = "",
    clock_synced: bool = True,
) -> str:
    """The current trouble, most serious first, as one line ("" when all is well)."""
    problems = []
    if refusal:
        problems.append(f"broker refused: {refusal}")
    if missing_keys:
        problems.append(f"no keys for group {', '.join(missing_keys)}")
    if key_error:
        problems.append(f"keys: {key_error}")
    if not clock_synced:
        problems.append("clock not synced")
    text = "; ".join(problems).replace("\n", " ")
    return "".join(c for c in text if c.isprintable())[:MAX_ERROR]


class Presence:
    """Decides when to re-publish: the error text changed, or REFRESH_S passed (``now`` monotonic)."""

    def __init__(
        self, network: str = "", *, started: float | None = None, refresh_s: float = REFRESH_S
    ) -> None:
        if network and network not in NETWORKS:
            raise ValueError(f"network {network!r} is not one of {', '.join(NETWORKS)}")
        self.network = network
        self.version = package_version()
        self.started = time.monotonic() if started is None else started
        self.refresh_s = refresh_s
        self._published: str | None = None
        self._next = 0.0

    def status(self, now: float, error: str, temperature_c: float | None) -> Status:
        """The status to publish now; notes it as published."""
        self._published = error
        self._next = now + self.refresh_s
        return Status(
            State.ONLINE, self.version, max(0.0, now - self.started), self.network, error, temperature_c
        )

    def due(self, now: float, error: str) -> bool:
        return error != self._published or now >= self._next
