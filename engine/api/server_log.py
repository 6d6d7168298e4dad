"""The server's own lines: the start line (address, TLS, broker, state, time zone) and shutdown.

The start line says whether TLS is on because a plaintext client of a TLS server only sees "Socket
closed": the operator reading the log must not have to guess (docs/LOGGING.md)."""

from __future__ import annotations

import logging

from engine.config import Config
from streaming.logsetup import event

log = logging.getLogger("engine.api.server")


def tls_mode(config: Config) -> str:
    """off, on, or mutual (client certificates required)."""
    if not config.tls_cert:
        return "off"
    return "mutual" if config.tls_client_ca else "on"


def started(config: Config, port: int) -> None:
    tls = tls_mode(config)
    tls_text = {
        "off": "TLS off (plaintext)",
        "on": "TLS on",
        "mutual": "TLS on, client certificates required",
    }
    broker = f"broker on (port {config.broker_port})" if config.broker else "broker off"
    parts = [
        f"serving on {config.listen} (port {port})",
        tls_text[tls],
        broker,
        f"state in {config.state_dir}",
    ]
    if config.time_zone:
        parts.append(f"time zone {config.time_zone}")
    if config.metrics_port:
        parts.append(f"metrics on {config.metrics_address}:{config.metrics_port}")
    event(
        log,
        logging.INFO,
        "server.start",
        ", ".join(parts),
        address=config.listen,
        port=port,
        tls=tls,
        broker=config.broker,
        state_dir=str(config.state_dir),
        time_zone=config.time_zone or None,
        auth=config.auth,
    )


def stopping(grace_s: float) -> None:
    event(log, logging.INFO, "server.stopping", f"shutting down (grace {grace_s:g} s)", grace_s=grace_s)


def stopped() -> None:
    event(log, logging.INFO, "server.stopped", "stopped")
