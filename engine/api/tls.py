"""TLS for the gRPC server and its clients, optionally mutual (client certificates from one CA).

Files are checked before gRPC sees them, because gRPC reports a bad or mismatched key only as a failed
handshake on the first call; here the error names the config setting (tls_cert, tls_key, tls_client_ca).
"""

from __future__ import annotations

from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def _read(path: str | Path, setting: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"config {setting}: cannot read {str(path)!r}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise ValueError(f"config {setting}: {str(path)!r} is not a PEM file")
    return data


def _certificates(data: bytes, setting: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"config {setting}: no readable PEM certificate") from None
    return certs


def _check_pair(cert_pem: bytes, key_pem: bytes, cert_setting: str, key_setting: str) -> None:
    cert = _certificates(cert_pem, cert_setting)[0]
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"config {key_setting}: not an unencrypted PEM private key") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.PEM, public) != cert.public_key().public_bytes(
        serialization.Encoding.PEM, public
    ):
        raise ValueError(f"config {key_setting}: the key does not match the certificate in {cert_setting}")


def server_credentials(
    tls_cert: str | Path, tls_key: str | Path, tls_client_ca: str | Path | None = None
) -> grpc.ServerCredentials:
    """Server TLS from PEM files. With tls_client_ca, mutual TLS: a client must present a certificate
    signed by that CA, or the handshake fails."""
    cert = _read(tls_cert, "tls_cert")
    key = _read(tls_key, "tls_key")
    _check_pair(cert, key, "tls_cert", "tls_key")
    client_ca = None
    if tls_client_ca is not None:
        client_ca = _read(tls_client_ca, "tls_client_ca")
        _certificates(client_ca, "tls_client_ca")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def channel_credentials(
    ca: str | Path | None = None, cert: str | Path | None = None, key: str | Path | None = None
) -> grpc.ChannelCredentials:
    """Client TLS: trust ca (None: the system's roots); cert and key for a server that wants mutual TLS."""
    if (cert is None) != (key is None):
        raise ValueError("tls: a client certificate needs its key, and a key its certificate")
    roots = _read(ca, "tls_ca") if ca is not None else None
    chain = private = None
    if cert is not None and key is not None:
        chain, private = _read(cert, "tls_client_cert"), _read(key, "tls_client_key")
        _check_pair(chain, private, "tls_client_cert", "tls_client_key")
    return grpc.ssl_channel_credentials(root_certificates=roots, private_key=private, certificate_chain=chain)
