"""The embedded broker: Mosquitto 2.x configured, started, reloaded and stopped from a state directory.

Loa writes every file Mosquitto reads (``mosquitto.conf``, ``passwd``, ``acl``) from its own account
list (``accounts.json``), so they are regenerated, never edited. Accounts:

- servers (names ``_[a-z0-9-]+``, outside the cluster id alphabet so no cluster can take one): write
  every group's media, bulletins delivered ahead and every time reply, read every cluster's status,
  reports and time requests;
- clusters (the cluster id): read the media and the bulletins delivered ahead of their own groups and
  their own time replies, write only their own status, reports and time requests (``pattern`` lines
  with ``%u``).

The listener is TLS only, ``allow_anonymous false``, and ``use_username_as_clientid``: a client cannot
pose as another client id and take over its session. With ``client_certs`` it must also present a
certificate from our CA (a second factor; the identity stays the username, so revocation is one rule).

Revocation: :meth:`Mosquitto.revoke` removes the account, rewrites the files and sends SIGHUP. Debian's
Mosquitto 2.0.11 re-checks every connected client against the reloaded password file and disconnects
those whose credentials are gone (measured here: the client saw the disconnection ~0.1 s after the
SIGHUP); their reconnects are refused "Not authorized". The dynamic-security plugin is not needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from streaming.broker.topics import Kind, Topics, check_id

SERVER_RE = re.compile(r"_[a-z0-9-]{1,62}")
# a media bundle is at most ~96 KiB (streaming.broker.bundle.MAX_BUNDLE), a bulletin delivered ahead
# 6 MiB (streaming.broker.ahead.MAX_ITEM: 10 minutes at 32 kb/s is ~3.7 MB), with room for MQTT's headers
MAX_PACKET = 6 * 1024 * 1024 + 64 * 1024


@dataclass
class Accounts:
    servers: dict[str, str] = field(default_factory=dict)  # name -> mosquitto_passwd hash
    clusters: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # id -> (hash, groups)

    def serialize(self) -> str:
        return json.dumps(
            {
                "servers": self.servers,
                "clusters": {c: {"hash": h, "groups": list(g)} for c, (h, g) in self.clusters.items()},
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def parse(cls, text: str) -> Accounts:
        data = json.loads(text)
        servers = {str(n): str(h) for n, h in data["servers"].items()}
        for name in servers:
            if SERVER_RE.fullmatch(name) is None:
                raise ValueError(f"server account {name!r}")
        clusters = {
            check_id(c, "cluster"): (str(e["hash"]), tuple(check_id(g, "group") for g in e["groups"]))
            for c, e in data["clusters"].items()
        }
        return cls(servers, clusters)


def hash_password(username: str, password: str) -> str:
    """Mosquitto's own hash (PBKDF2-SHA512, ``$7$...``), made by ``mosquitto_passwd``."""
    if not password or "\n" in password:
        raise ValueError("password: not empty, one line")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "passwd"
        subprocess.run(
            ["mosquitto_passwd", "-c", "-b", str(path), username, password], check=True, capture_output=True
        )
        line = path.read_text().strip()
    name, _, digest = line.partition(":")
    if name != username or not digest.startswith("$"):
        raise RuntimeError(f"mosquitto_passwd wrote {line!r}")
    return digest


def acl_text(accounts: Accounts, topics: Topics) -> str:
    lines = ["# Written by Loa (engine/broker/mosquitto.py); edits are overwritten.", ""]
    for name in sorted(accounts.servers):
        lines += [
            f"user {name}",
            f"topic write {topics.all_clusters(Kind.MEDIA)}",
            f"topic write {topics.all_clusters(Kind.TIME_REPLY)}",
            f"topic read {topics.all_clusters(Kind.STATUS)}",
            f"topic read {topics.all_clusters(Kind.REPORT)}",
            f"topic read {topics.all_clusters(Kind.TIME_REQUEST)}",
            f"topic write {topics.ahead_filter()}",  # bulletins delivered ahead, retained
            "",
        ]
    for cluster, (_, groups) in sorted(accounts.clusters.items()):
        lines.append(f"user {cluster}")
        lines += [f"topic read {topics.media(g)}" for g in groups]
        lines += [f"topic read {topics.ahead_filter(g)}" for g in groups]
        lines.append("")
    # Patterns apply to every user: each may write only under its own name.
    lines += [
        f"pattern write {topics.acl_pattern(Kind.STATUS)}",
        f"pattern write {topics.acl_pattern(Kind.REPORT)}",
        f"pattern write {topics.acl_pattern(Kind.TIME_REQUEST)}",
        f"pattern read {topics.acl_pattern(Kind.TIME_REPLY)}",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Listener:
    port: int
    cert: Path
    key: Path
    ca: Path
    bind: str = "0.0.0.0"
    client_certs: bool = False


class Mosquitto:
    def __init__(self, state_dir: Path, listener: Listener, topics: Topics | None = None) -> None:
        self.dir = state_dir
        self.listener = listener
        self.topics = topics or Topics()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._accounts_path = self.dir / "accounts.json"
        self.accounts = (
            Accounts.parse(self._accounts_path.read_text()) if self._accounts_path.exists() else Accounts()
        )
        self.log = self.dir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # --- accounts

    def add_server(self, name: str, password: str) -> None:
        if SERVER_RE.fullmatch(name) is None:
            raise ValueError(f"server account {name!r} is not of the form _[a-z0-9-]{{1,62}}")
        self.accounts.servers[name] = hash_password(name, password)
        self._changed()

    def add_cluster(self, cluster: str, password: str, groups: tuple[str, ...]) -> None:
        check_id(cluster, "cluster")
        for g in groups:
            check_id(g, "group")
        self.accounts.clusters[cluster] = (hash_password(cluster, password), tuple(groups))
        self._changed()

    def set_groups(self, cluster: str, groups: tuple[str, ...]) -> None:
        digest, _ = self.accounts.clusters[cluster]
        self.accounts.clusters[cluster] = (digest, tuple(check_id(g, "group") for g in groups))
        self._changed()

    def revoke(self, cluster: str) -> None:
        """Takes effect at once: the broker drops the cluster's session on the reload (see above)."""
        if self.accounts.clusters.pop(cluster, None) is not None:
            self._changed()

    def _changed(self) -> None:
        self.write()
        if self.running:
            self.reload()

    # --- files

    def write(self) -> None:
        self._write(self._accounts_path, self.accounts.serialize())
        entries = {**self.accounts.servers, **{c: h for c, (h, _) in self.accounts.clusters.items()}}
        self._write(self.dir / "passwd", "".join(f"{n}:{h}\n" for n, h in sorted(entries.items())))
        self._write(self.dir / "acl", acl_text(self.accounts, self.topics))
        self._write(self.dir / "mosquitto.conf", self.config_text())

    def config_text(self) -> str:
        ls = self.listener
        lines = [
            "# Written by Loa (engine/broker/mosquitto.py); edits are overwritten.",
            # Started as root (a container, or a user namespace in the tests), Mosquitto would drop to
            # the "mosquitto" user, which cannot read this directory; inside a user namespace it cannot
            # drop privileges at all and exits.
            *(["user root"] if os.geteuid() == 0 else []),
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {self.dir / 'passwd'}",
            f"acl_file {self.dir / 'acl'}",
            "persistence true",  # retained status survives a broker restart
            f"persistence_location {self.dir}/",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            f"max_packet_size {MAX_PACKET}",
            "max_keepalive 300",
            f"listener {ls.port} {ls.bind}",
            f"cafile {ls.ca}",
            f"certfile {ls.cert}",
            f"keyfile {ls.key}",
            "tls_version tlsv1.2",
            "use_username_as_clientid true",
            f"require_certificate {'true' if ls.client_certs else 'false'}",
            "",
        ]
        return "\n".join(lines)

    @staticmethod
    def _write(path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    # --- process

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self, timeout: float = 10.0) -> None:
        """Starts Mosquitto and returns once its listener completes a TLS handshake."""
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.write()
        stderr = self.dir / "mosquitto.stderr"
        with stderr.open("wb") as out:  # startup errors, before the log file is open
            self._proc = subprocess.Popen(
                [binary, "-c", str(self.dir / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=out
            )
        deadline = time.monotonic() + timeout
        context = ssl.create_default_context(cafile=str(self.listener.ca))
        context.check_hostname = False  # only "is it up": the clients check the name
        host = "127.0.0.1" if self.listener.bind in ("0.0.0.0", "") else self.listener.bind
        while True:
            if self._proc.poll() is not None:
                err = stderr.read_text(errors="replace")
                log = self.log.read_text(errors="replace") if self.log.exists() else ""
                raise RuntimeError(f"mosquitto exited {self._proc.returncode}: {err}{log}")
            try:
                with (
                    socket.create_connection((host, self.listener.port), timeout=1) as sock,
                    context.wrap_socket(sock),
                ):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"mosquitto did not accept TLS on port {self.listener.port}") from None
                time.sleep(0.05)

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads the password and ACL files and re-checks connected clients."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGHUP)

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
