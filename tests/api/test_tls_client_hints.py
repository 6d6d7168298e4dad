"""The client side of TLS and of the default port, against real `loa serve` processes (one with TLS, one
without), each in its own namespace on Loa's port: a mismatch says which option to change, and
`--server localhost` with no port reaches port 50051, not 443."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.api.client import with_default_port
from engine.netns import command, enter_command
from tests.security.certs import CertificateAuthority

pytestmark = pytest.mark.netns


@dataclass
class Running:
    proc: subprocess.Popen[str]
    token: str

    def loa(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """`loa group list ARGV` in the server's namespace, with its admin token."""
        args = [sys.executable, "-m", "engine", "group", "list", "--token", self.token, *argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
        return subprocess.run(
            enter_command(self.proc.pid, args), capture_output=True, text=True, timeout=60, env=env
        )


def serve(tmp: Path, settings: dict[str, str]) -> Iterator[Running]:
    env = {**os.environ, "LOA_VOICES_DIR": str(tmp / "voices"), **settings}
    argv = [sys.executable, "-m", "engine", "serve", "--listen", "0.0.0.0:50051", "--metrics-port", "0"]
    log = tmp / "server.log"
    with open(log, "w") as out:
        argv += ["--state-dir", str(tmp / "state")]
        proc = subprocess.Popen(command(argv), stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while "serving on" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    yield Running(proc, (tmp / "state" / "admin-token").read_text().strip())
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("pki"), "loa")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, ca: CertificateAuthority) -> Iterator[Running]:
    cert = ca.issue("server", server=True)
    settings = {"LOA_TLS_CERT": str(cert.cert), "LOA_TLS_KEY": str(cert.key)}
    yield from serve(tmp_path_factory.mktemp("tls"), settings)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    yield from serve(tmp_path_factory.mktemp("plain"), {})


def test_a_plaintext_client_of_a_tls_server_is_told_to_use_tls(
    tls_server: Running, ca: CertificateAuthority
) -> None:
    plain = tls_server.loa("--server", "localhost:50051")
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "UNAVAILABLE" in plain.stderr and "the server may use TLS: give --tls-ca" in plain.stderr
    secured = tls_server.loa("--server", "localhost", "--tls-ca", str(ca.cert))  # no port: 50051
    assert secured.returncode == 0, secured.stderr


def test_a_tls_client_of_a_plaintext_server_is_told_to_drop_tls(
    plain_server: Running, ca: CertificateAuthority
) -> None:
    tls = plain_server.loa("--server", "localhost:50051", "--tls-ca", str(ca.cert))
    assert tls.returncode == 1
    assert "the server speaks plaintext, not TLS: leave out --tls-ca" in tls.stderr


def test_a_server_named_without_a_port_is_reached_on_loas_port(plain_server: Running) -> None:
    for name in ("localhost", "127.0.0.1"):
        listed = plain_server.loa("--server", name)
        assert listed.returncode == 0, listed.stderr
    nobody = plain_server.loa("--server", "127.0.0.1:50999")
    assert nobody.returncode == 1 and "is `loa serve` running there?" in nobody.stderr


def test_default_port_only_where_none_is_given() -> None:
    assert with_default_port("localhost") == "localhost:50051"
    assert with_default_port("10.0.0.5:7000") == "10.0.0.5:7000"
    assert with_default_port("::1") == "[::1]:50051"
    assert with_default_port("[::1]") == "[::1]:50051"
    assert with_default_port("[::1]:7000") == "[::1]:7000"
    assert with_default_port("unix:/run/loa.sock") == "unix:/run/loa.sock"
    assert with_default_port("dns:///loa.example:443") == "dns:///loa.example:443"
