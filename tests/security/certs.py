"""Test certificates made on the spot, valid for a day: a CA, servers (localhost, 127.0.0.1) and clients,
with the same code the embedded broker makes its PKI with (engine/broker/certs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.broker.certs import issue, make_ca

DAYS = 1
SERVER_HOSTS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


class CertificateAuthority:
    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.cert = directory / f"{name}-ca.pem"
        self._key = directory / f"{name}-ca.key"
        make_ca(self.cert, self._key, name, days=DAYS)

    def issue(self, common_name: str, *, server: bool) -> Issued:
        issued = Issued(self.directory / f"{common_name}.pem", self.directory / f"{common_name}.key")
        hosts = SERVER_HOSTS if server else ()
        issue(self.cert, self._key, issued.cert, issued.key, common_name, hosts, days=DAYS)
        return issued
