"""What the broker benches share: a process's CPU time and RSS from /proc, the re-run inside a private
network namespace, and the embedded Mosquitto with many cluster accounts made at once."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from engine import netns
from engine.broker.certs import BrokerPki, ensure_pki
from engine.broker.mosquitto import Listener, Mosquitto, hash_password
from streaming.broker.topics import Topics


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def raise_fd_limit() -> int:
    """Soft limit of open files up to the hard one (children, Mosquitto included, inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def in_namespace(module: str, args: Sequence[str]) -> int:
    """Runs ``python -m module --inside args`` in a fresh private network namespace; its exit status."""
    argv = [sys.executable, "-m", module, "--inside", *args]
    return subprocess.run(netns.command(argv)).returncode


def broker(
    state: Path, port: int, topics: Topics, clusters: dict[str, tuple[str, ...]], password: str
) -> tuple[Mosquitto, BrokerPki]:
    """The embedded Mosquitto over TLS on 127.0.0.1 with a server account ``_loa`` and ``clusters``.

    Every cluster gets the same password, hashed once: ``Mosquitto.add_cluster`` runs mosquitto_passwd and
    rewrites every file per account, minutes for 4,000; the broker checks each login the same way."""
    pki = ensure_pki(state / "pki")
    mq = Mosquitto(state / "broker", Listener(port, pki.cert, pki.key, pki.ca_cert, "127.0.0.1"), topics)
    mq.accounts.servers["_loa"] = hash_password("_loa", password)
    digest = hash_password("cluster", password)  # PBKDF2 of the password alone: any username may use it
    for name, groups in clusters.items():
        mq.accounts.clusters[name] = (digest, groups)
    mq.write()
    return mq, pki
