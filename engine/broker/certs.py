"""A small CA and a server certificate for the embedded broker, made once in its state directory.

A deployment with its own PKI passes its files instead; this is for ``make demo``, the tests and a first
install. EC P-256 keys: ~1 ms to sign here, and every MQTT TLS stack (paho, ESP-IDF, mbedTLS) speaks it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest validity clients such as Apple's accept for a TLS server certificate


@dataclass(frozen=True)
class BrokerPki:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | str) -> None:
    pem = key.encode() if isinstance(key, str) else _key_pem(key)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_ca(cert_path: Path, key_path: Path, name: str, days: int = CA_DAYS) -> None:
    """A self-signed CA that signs leaves only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def issue_pem(
    pki_ca_cert: Path, pki_ca_key: Path, name: str, hosts: tuple[str, ...] = (), days: int = LEAF_DAYS
) -> tuple[str, str]:
    """(certificate, private key) in PEM: for a server when ``hosts`` are given (its names), else for a
    client ``name``."""
    ca_cert = x509.load_pem_x509_certificate(pki_ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(pki_ca_key.read_bytes(), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{pki_ca_key}: not an EC private key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if hosts else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return cert.decode(), _key_pem(key).decode()


def issue(
    pki_ca_cert: Path,
    pki_ca_key: Path,
    out_cert: Path,
    out_key: Path,
    name: str,
    hosts: tuple[str, ...] = (),
    days: int = LEAF_DAYS,
) -> None:
    """:func:`issue_pem` written to files (the key 0600)."""
    cert, key = issue_pem(pki_ca_cert, pki_ca_key, name, hosts, days)
    _write_key(out_key, key)
    out_cert.write_text(cert)


def ensure_pki(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> BrokerPki:
    """The CA and server certificate in ``directory``, made if missing (kept if present)."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = BrokerPki(
        directory / "ca.pem", directory / "ca.key", directory / "broker.pem", directory / "broker.key"
    )
    if not (pki.ca_cert.exists() and pki.ca_key.exists()):
        make_ca(pki.ca_cert, pki.ca_key, "Loa broker CA")
    if not (pki.cert.exists() and pki.key.exists()):
        issue(pki.ca_cert, pki.ca_key, pki.cert, pki.key, hosts[0], hosts)
    return pki
