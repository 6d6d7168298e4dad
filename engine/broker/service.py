"""The embedded broker as `loa serve` runs it (config ``broker = true``): Mosquitto, its PKI and accounts
under ``state_dir/broker``, the server's own MQTT connection, the media transport beside UDP, and the
intake of what clusters send (presence, play reports, time requests).

Start order: the PKI (a CA and a server certificate naming ``broker_public_host``, localhost and
127.0.0.1), the accounts (the server's ``_loa`` with a random password kept 0600 in the state dir; the
clusters reconciled with the store, so a cluster revoked in the store can never log in), Mosquitto, then
the server's connection, subscribed to every cluster's status, reports and time requests. Stop is the
reverse. The pacer gets :attr:`BrokerService.transport` as a second transport (server.py), so every
group's SRTP datagrams go to the group's topic too.

Threads: paho's network thread answers time requests at once (their receive time must not include a
queue); statuses and reports go through a bounded queue to one intake thread that writes them to the
store in batches, one transaction each, so a reconnect storm of thousands of clusters costs a few fsyncs
and never stalls the network thread that also carries media. A full queue drops and counts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from engine.broker.certs import BrokerPki, ensure_pki, issue, issue_pem
from engine.broker.inbox import Inbox
from engine.broker.mosquitto import Listener, Mosquitto, hash_password
from engine.config import Config
from engine.jobs.errors import StoreError
from engine.jobs.store import Store
from streaming.broker.client import BrokerClient, Settings
from streaming.broker.messages import PlayReport, Status
from streaming.broker.publisher import BrokerPublisher
from streaming.broker.topics import Kind, Topics
from streaming.broker.transport import BrokerTransport

log = logging.getLogger(__name__)

# A group served through the broker needs a playout delay above the 4G path's latency plus the ~100 ms
# bundling (tests/broker: the broker copy arrived p99 81 ms after multicast on loopback; Snapcast's
# default over TCP is 1 s and users on bad links needed 3 s). See docs/BROKER.md, "Playout delay".
DEFAULT_BROKER_PLAYOUT_DELAY_S = 1.5
SERVER_ACCOUNT = "_loa"
PASSWORD_FILE = "server-password"
PID_FILE = "mosquitto.pid"
INTAKE_QUEUE = 10_000  # statuses and reports waiting for the store: a province's clusters twice over
INTAKE_BATCH = 500
MESSAGE_KINDS = ("status", "report", "time_request", "other")


@dataclass
class IntakeCounters:
    """What became of the statuses and reports queued for the store (beside Inbox's parse counters)."""

    statuses: int = 0
    reports: int = 0
    duplicates: int = 0  # a report delivered again (QoS 1): stored once
    unknown: int = 0  # from a cluster the store does not know or has revoked: dropped
    overflow: int = 0  # the queue was full: dropped
    store_errors: int = 0  # batches the store could not write (disk full ...): dropped, logged


def _hosts(config: Config) -> tuple[str, ...]:
    names = [config.broker_public_host, "localhost", "127.0.0.1"]
    if config.broker_bind not in ("", "0.0.0.0"):
        names.append(config.broker_bind)
    return tuple(dict.fromkeys(names))


def _san_names(cert_path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(n) for n in san.get_values_for_type(x509.DNSName)} | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    }


def broker_pki(directory: Path, hosts: Sequence[str]) -> BrokerPki:
    """The CA and server certificate; the certificate is issued again (same CA, so clusters' bundles
    stay valid) when it does not name every host, e.g. after ``broker_public_host`` changed."""
    cert = directory / "broker.pem"
    if cert.exists() and not set(hosts) <= _san_names(cert):
        log.info("broker certificate does not name %s: issuing a new one", ", ".join(hosts))
        cert.unlink()
    return ensure_pki(directory, tuple(hosts))


def _secret_file(path: Path) -> tuple[str, bool]:
    """(the secret in ``path``, made now?); made with mode 0600 when missing."""
    if path.exists():
        return path.read_text().strip(), False
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value, True


class BrokerService:
    def __init__(self, config: Config, store: Store) -> None:
        self.dir = Path(config.state_dir) / "broker"
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store = store
        self.topics = Topics(config.broker_prefix)
        self.public_host = config.broker_public_host
        self.port = config.broker_port
        self.pki = broker_pki(self.dir / "pki", _hosts(config))
        self.client_certs = config.broker_client_certs
        client_cert = client_key = None
        if config.broker_client_certs:  # the server is a client of its broker too: it needs one as well
            client_cert, client_key = self.dir / "pki" / "loa-client.pem", self.dir / "pki" / "loa-client.key"
            if not client_cert.exists():
                issue(self.pki.ca_cert, self.pki.ca_key, client_cert, client_key, SERVER_ACCOUNT)
        listener = Listener(
            config.broker_port, self.pki.cert, self.pki.key, self.pki.ca_cert, config.broker_bind,
            config.broker_client_certs,
        )  # fmt: skip
        self.mosquitto = Mosquitto(self.dir / "mosquitto", listener, self.topics)
        password, made = _secret_file(self.dir / PASSWORD_FILE)
        if made or SERVER_ACCOUNT not in self.mosquitto.accounts.servers:
            self.mosquitto.accounts.servers[SERVER_ACCOUNT] = hash_password(SERVER_ACCOUNT, password)
        self._accounts_lock = threading.Lock()  # gRPC threads change accounts: one rewrite at a time
        self.reconcile()
        self.inbox = Inbox(self.topics, self, on_status=self._on_status, on_report=self._on_report)
        self._inbox_lock = threading.Lock()  # the network and intake threads both feed the inbox
        local = "127.0.0.1" if config.broker_bind in ("", "0.0.0.0") else config.broker_bind
        self.client = BrokerClient(
            Settings(local, config.broker_port, SERVER_ACCOUNT, password, self.pki.ca_cert, client_cert,
                     client_key, backoff_min_s=0.2, backoff_max_s=5.0),
            self._message,
        )  # fmt: skip
        for topic in self.inbox.filters():
            self.client.subscribe(topic, 1)  # QoS 1: a status or report must not be lost on the way in
        self.publisher = BrokerPublisher(self.client, self.topics)
        self.transport = BrokerTransport(self.publisher)
        self.intake = IntakeCounters()
        self._queue: queue.Queue[tuple[str, bytes, float] | None] = queue.Queue(INTAKE_QUEUE)
        self._batch_statuses: list[tuple[str, Status, float]] = []
        self._batch_reports: list[tuple[str, PlayReport, float]] = []
        self._received_at = 0.0
        self._thread = threading.Thread(target=self._intake, name="loa-broker-intake", daemon=True)

    @property
    def url(self) -> str:
        return f"mqtts://{self.public_host}:{self.port}"

    def ca_pem(self) -> str:
        return self.pki.ca_cert.read_text()

    def client_certificate(self, cluster_id: str) -> tuple[str, str]:
        """(certificate, key) PEM for a cluster's bundle where the broker asks clusters for one, else
        ("", ""). Made with each bundle and never stored here: revoking the cluster's account (its
        password) is what shuts it out, the certificate alone opens nothing."""
        if not self.client_certs:
            return "", ""
        return issue_pem(self.pki.ca_cert, self.pki.ca_key, cluster_id)

    # -- life -----------------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> BrokerService:
        self._stop_stale()
        self.mosquitto.start(timeout)
        (self.dir / PID_FILE).write_text(f"{self.mosquitto.pid}\n")
        self._thread.start()
        self.client.start()
        if not self.client.connected.wait(timeout):
            reason = self.client.last_reason
            self.stop()
            raise TimeoutError(f"broker: the server could not connect to its own broker ({reason})")
        return self

    def stop(self) -> None:
        """After the pacer closed (its transport flushed the last bundles): intake, connection, broker."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(10)
        self.client.stop()
        self.mosquitto.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.dir / PID_FILE).unlink()

    def _stop_stale(self) -> None:
        """A server killed without stopping leaves its Mosquitto holding the port: end it first (only if
        the pid is still a mosquitto reading our config)."""
        path = self.dir / PID_FILE
        try:
            pid = int(path.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ValueError):
            return
        conf = str(self.mosquitto.dir / "mosquitto.conf").encode()
        if conf in cmdline and any(part.endswith(b"mosquitto") for part in cmdline[:1]):
            log.warning("broker: ending the Mosquitto (pid %d) a previous server left running", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    # -- for other features ---------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        """Queues a message on the server's connection; False when it is not connected."""
        return self.client.publish(topic, payload, qos, retain)

    # -- cluster accounts (the store is the caller's: engine/api/clusters.py) ----------------------------

    def add_cluster(self, cluster_id: str, password: str, groups: Sequence[str]) -> None:
        with self._accounts_lock:
            self.mosquitto.add_cluster(cluster_id, password, tuple(groups))

    def set_groups(self, cluster_id: str, groups: Sequence[str]) -> None:
        with self._accounts_lock:
            self.mosquitto.set_groups(cluster_id, tuple(groups))

    def revoke(self, cluster_id: str) -> None:
        """At once: Mosquitto drops the session on the reload (engine/broker/mosquitto.py)."""
        with self._accounts_lock:
            self.mosquitto.revoke(cluster_id)

    def has_account(self, cluster_id: str) -> bool:
        return cluster_id in self.mosquitto.accounts.clusters

    def reconcile(self) -> None:
        """The broker's accounts follow the store: an account the store does not hold as active is
        removed (fail closed), groups are the store's. A cluster active in the store without an account
        (its broker files were lost) cannot get its password back: logged, to be created again."""
        active = {c.id: c.groups for c in self.store.list_clusters(revoked=False)}
        with self._accounts_lock:
            accounts = self.mosquitto.accounts.clusters
            for cluster_id in [c for c in accounts if c not in active]:
                log.warning("broker: account %s is not an active cluster in the store: removed", cluster_id)
                del accounts[cluster_id]
            for cluster_id, groups in active.items():
                if cluster_id not in accounts:
                    log.warning(
                        "broker: cluster %s has no broker account: revoke it and add it again", cluster_id
                    )
                elif accounts[cluster_id][1] != groups:
                    accounts[cluster_id] = (accounts[cluster_id][0], groups)
            self.mosquitto.write()
            if self.mosquitto.running:
                self.mosquitto.reload()

    # -- intake ---------------------------------------------------------------------------------------

    def _message(self, topic: str, payload: bytes) -> None:
        """On paho's network thread: time requests answered here, the rest queued for the store."""
        if topic.endswith("/" + Kind.TIME_REQUEST.value):
            with self._inbox_lock:
                self.inbox.handle(topic, payload)
            return
        try:
            self._queue.put_nowait((topic, payload, time.time()))
        except queue.Full:
            self.intake.overflow += 1

    def _on_status(self, cluster: str, status: Status) -> None:
        self._batch_statuses.append((cluster, status, self._received_at))

    def _on_report(self, cluster: str, report: PlayReport) -> None:
        self._batch_reports.append((cluster, report, self._received_at))

    def _intake(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while item is not None and len(batch) < INTAKE_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
            for entry in batch:
                if entry is None:
                    continue
                topic, payload, self._received_at = entry
                with self._inbox_lock:
                    self.inbox.handle(topic, payload)  # parsed messages land in the batch lists
            statuses, reports = self._batch_statuses, self._batch_reports
            self._batch_statuses, self._batch_reports = [], []
            try:
                done = self.store.record_cluster_messages(statuses, reports)
            except StoreError:
                log.exception("broker: could not store %d statuses and reports", len(statuses) + len(reports))
                self.intake.store_errors += 1
            else:
                self.intake.statuses += done.statuses
                self.intake.reports += done.reports
                self.intake.duplicates += done.duplicates
                self.intake.unknown += done.unknown
            if batch[-1] is None or None in batch:
                return

    def message_counts(self) -> dict[tuple[str, str], int]:
        """(kind, outcome) -> messages: how each parsed (every pair present, zeros included), then what
        the store made of them (kind "any"), for /metrics."""
        out = {(k, o): 0 for k in MESSAGE_KINDS for o in ("ok", "malformed", "unexpected")}
        with self._inbox_lock:
            parsed = dict(self.inbox.counters.by_kind)
        for key, count in parsed.items():
            kind, _, outcome = key.partition(":")
            out[kind, outcome] = count
        out["report", "duplicate"] = self.intake.duplicates
        out["any", "unknown_cluster"] = self.intake.unknown
        out["any", "overflow"] = self.intake.overflow
        out["any", "store_error"] = self.intake.store_errors
        return out
