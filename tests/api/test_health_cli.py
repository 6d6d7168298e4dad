"""`loa health` (the container's HEALTHCHECK) against real `loa serve` processes with TLS and mutual TLS,
given only the server's own settings, as the Dockerfile gives them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.api.healthcheck import cert_name, local_address
from engine.netns import command, enter_command
from tests.security.certs import CertificateAuthority, Issued

pytestmark = pytest.mark.netns

LISTEN = "0.0.0.0:50051"


@dataclass
class Running:
    proc: subprocess.Popen[str]
    env: dict[str, str]  # the server's LOA_* settings: what the health check also gets
    start_line: str

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``argv`` in the server's namespace, with the server's environment unless ``env``."""
        return subprocess.run(
            enter_command(self.proc.pid, argv),
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env if env is None else env,
        )

    def health(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "engine", "health", *args], env)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateAuthority, Issued, Issued]:
    ca = CertificateAuthority(tmp_path_factory.mktemp("pki"), "loa")
    return ca, ca.issue("server", server=True), ca.issue("client", server=False)


def serve(tmp: Path, settings: dict[str, str]) -> Iterator[Running]:
    env = {
        **os.environ,
        "LOA_LISTEN": LISTEN,
        "LOA_STATE_DIR": str(tmp / "state"),
        "LOA_VOICES_DIR": str(tmp / "voices"),
        "LOA_METRICS_PORT": "9464",
        **settings,
    }
    log = tmp / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command([sys.executable, "-m", "engine", "serve"]),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    deadline = time.monotonic() + 60
    while "serving on" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    line = next(x for x in log.read_text().splitlines() if "serving on" in x)
    yield Running(proc, env, line)
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory, pki: tuple[CertificateAuthority, Issued, Issued]
) -> Iterator[Running]:
    _, server, _ = pki
    yield from serve(
        tmp_path_factory.mktemp("tls"), {"LOA_TLS_CERT": str(server.cert), "LOA_TLS_KEY": str(server.key)}
    )


def test_the_start_line_says_tls_is_on(tls_server: Running) -> None:
    assert "(port 50051), TLS on," in tls_server.start_line


def test_health_speaks_tls_from_the_servers_own_settings(tls_server: Running) -> None:
    checked = tls_server.health()
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "loa health: 127.0.0.1:50051 (TLS): SERVING"


def test_a_plaintext_probe_of_a_tls_server_fails_with_a_hint(tls_server: Running) -> None:
    plain = {k: v for k, v in tls_server.env.items() if not k.startswith("LOA_TLS")}
    checked = tls_server.health(env=plain)
    assert checked.returncode == 1
    assert "UNAVAILABLE" in checked.stderr and "if the server uses TLS" in checked.stderr


def test_the_tls_server_exports_its_certificate_expiry(
    tls_server: Running, pki: tuple[CertificateAuthority, Issued, Issued]
) -> None:
    from cryptography import x509

    code = (
        "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9464/metrics').read().decode())"
    )
    page = tls_server.run([sys.executable, "-c", code]).stdout
    expiry = x509.load_pem_x509_certificate(pki[1].cert.read_bytes()).not_valid_after_utc.timestamp()
    # compared as numbers: the exposition drops trailing zeros (1.79658463e+09), one run in ten
    [value] = [line.split()[1] for line in page.splitlines() if line.startswith("loa_tls_certificate_expiry")]
    assert float(value) == pytest.approx(expiry, abs=1.0)


def test_mutual_tls_health_needs_and_uses_a_client_certificate(
    tmp_path: Path, pki: tuple[CertificateAuthority, Issued, Issued]
) -> None:
    ca, server, client = pki
    settings = {
        "LOA_TLS_CERT": str(server.cert),
        "LOA_TLS_KEY": str(server.key),
        "LOA_TLS_CLIENT_CA": str(ca.cert),
    }
    for running in serve(tmp_path, settings):
        assert "TLS on, client certificates required" in running.start_line
        without = running.health()
        assert without.returncode == 2 and "LOA_HEALTH_TLS_CERT" in without.stderr
        client_env = {"LOA_HEALTH_TLS_CERT": str(client.cert), "LOA_HEALTH_TLS_KEY": str(client.key)}
        with_cert = running.health(env={**running.env, **client_env})
        assert with_cert.returncode == 0, with_cert.stderr
        assert "SERVING" in with_cert.stdout


def test_the_certificate_is_checked_under_its_own_name_on_loopback(
    pki: tuple[CertificateAuthority, Issued, Issued],
) -> None:
    server = pki[1].cert  # names localhost and 127.0.0.1
    assert cert_name(server, "127.0.0.1") is None
    assert cert_name(server, "localhost") is None
    assert cert_name(server, "::1") == "localhost"  # not named: checked as its first DNS name
    assert local_address("0.0.0.0:50051") == "127.0.0.1:50051"
    assert local_address("[::]:50051") == "[::1]:50051"
    assert local_address("unix:/run/loa.sock") == "unix:/run/loa.sock"
