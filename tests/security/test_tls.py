"""TLS and mutual TLS over a real gRPC server on 127.0.0.1 (the health service is the RPC)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from engine.api.tls import channel_credentials, server_credentials
from tests.security.certs import CertificateAuthority, Issued


@dataclass
class Pki:
    ca: CertificateAuthority
    other_ca: CertificateAuthority
    server: Issued
    client: Issued
    rogue_client: Issued  # a client certificate from a CA the server does not trust


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca, other = CertificateAuthority(directory, "loa"), CertificateAuthority(directory, "other")
    return Pki(
        ca,
        other,
        ca.issue("server", server=True),
        ca.issue("client", server=False),
        other.issue("rogue", server=False),
    )


def _serve(credentials: grpc.ServerCredentials) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return server, port


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[int]:
    server, port = _serve(server_credentials(pki.server.cert, pki.server.key))
    yield port
    server.stop(None)


@pytest.fixture
def mtls_server(pki: Pki) -> Iterator[int]:
    server, port = _serve(server_credentials(pki.server.cert, pki.server.key, pki.ca.cert))
    yield port
    server.stop(None)


def _check(port: int, credentials: grpc.ChannelCredentials | None) -> health_pb2.HealthCheckResponse:
    target = f"127.0.0.1:{port}"
    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)


def _refused(port: int, credentials: grpc.ChannelCredentials | None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        _check(port, credentials)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    return info.value


def test_tls_call_succeeds_when_client_trusts_the_ca(pki: Pki, tls_server: int) -> None:
    reply = _check(tls_server, channel_credentials(pki.ca.cert))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_tls_client_trusting_another_ca_is_refused(pki: Pki, tls_server: int) -> None:
    _refused(tls_server, channel_credentials(pki.other_ca.cert))


def test_plaintext_client_is_refused_by_tls_server(tls_server: int) -> None:
    _refused(tls_server, None)


def test_mutual_tls_accepts_a_client_certificate_from_the_ca(pki: Pki, mtls_server: int) -> None:
    reply = _check(mtls_server, channel_credentials(pki.ca.cert, pki.client.cert, pki.client.key))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_mutual_tls_refuses_a_client_without_certificate(pki: Pki, mtls_server: int) -> None:
    _refused(mtls_server, channel_credentials(pki.ca.cert))


def test_mutual_tls_refuses_a_client_certificate_from_another_ca(pki: Pki, mtls_server: int) -> None:
    _refused(mtls_server, channel_credentials(pki.ca.cert, pki.rogue_client.cert, pki.rogue_client.key))


def test_config_errors_name_the_setting(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="config tls_cert: cannot read"):
        server_credentials(tmp_path / "missing.pem", pki.server.key)
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ValueError, match=r"config tls_key: .* is not a PEM file"):
        server_credentials(pki.server.cert, tmp_path / "junk.pem")
    with pytest.raises(ValueError, match="tls_key: the key does not match the certificate in tls_cert"):
        server_credentials(pki.server.cert, pki.client.key)
    with pytest.raises(ValueError, match="config tls_client_ca: no readable PEM certificate"):
        server_credentials(pki.server.cert, pki.server.key, pki.client.key)
    with pytest.raises(ValueError, match="needs its key"):
        channel_credentials(pki.ca.cert, pki.client.cert)
