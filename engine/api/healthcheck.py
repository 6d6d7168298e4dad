"""``loa health``: exit 0 when the server answers grpc.health.v1 SERVING (the container's HEALTHCHECK).

It reads the server's own settings (``--config`` or LOA_CONFIG, and the LOA_* variables, as ``loa serve``
does), so it speaks TLS exactly when the server does: a plaintext probe of a TLS server only ever sees
"Socket closed". It trusts the server's own certificate (tls_cert) unless ``--tls-ca`` names a CA, and
checks it under the certificate's own name, since it connects to the loopback address. With mutual TLS
(tls_client_ca) it needs a client certificate: ``--tls-cert``/``--tls-key`` or LOA_HEALTH_TLS_CERT/KEY.

``python -m engine.api.healthcheck [ADDRESS]`` still works (plaintext, or TLS from the environment).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


@dataclass(frozen=True)
class Probe:
    address: str
    tls: bool = False
    ca: Path | None = None  # trusted root; None with tls: the server's certificate itself (cert_name)
    cert: Path | None = None  # client certificate, for mutual TLS
    key: Path | None = None
    server_cert: Path | None = None


def local_address(listen: str) -> str:
    """Where to reach a server listening on ``listen`` from the same machine (0.0.0.0 → 127.0.0.1)."""
    if listen.startswith("unix"):
        return listen
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    host = LOOPBACK.get(host, host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def cert_name(cert: Path, host: str) -> str | None:
    """The name to check the server's certificate under when connecting to ``host``: None when the
    certificate already names that address, else its first DNS name (or common name)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    leaf = x509.load_pem_x509_certificates(cert.read_bytes())[0]
    try:
        alt = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        ips = [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]
        dns = alt.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        ips, dns = [], []
    try:
        if str(ipaddress.ip_address(host)) in ips:
            return None
    except ValueError:
        if host in dns:
            return None
    if dns:
        return str(dns[0])
    common = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else None


def check(probe: Probe | str, timeout: float = 3.0, wait: bool = False) -> tuple[bool, str]:
    """(serving, what happened) for the server ``probe`` describes (a plain address: plaintext). With
    ``wait``, a server not listening yet is waited for until ``timeout`` (a script that starts one)."""
    from engine.api.tls import channel_credentials

    p = probe if isinstance(probe, Probe) else Probe(probe)
    options: list[tuple[str, str]] = []
    if p.tls:
        root = p.ca or p.server_cert
        credentials = channel_credentials(root, p.cert, p.key)
        host = p.address.rpartition(":")[0].strip("[]")
        name = cert_name(p.server_cert, host) if p.server_cert and not p.ca else None
        if name:
            options.append(("grpc.ssl_target_name_override", name))
        channel = grpc.secure_channel(p.address, credentials, options=options)
    else:
        channel = grpc.insecure_channel(p.address)
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout, wait_for_ready=wait
            )
        except grpc.RpcError as exc:
            hint = ""
            if not p.tls and exc.code() == grpc.StatusCode.UNAVAILABLE:
                hint = " (if the server uses TLS, give --config or LOA_TLS_CERT, or --tls-ca)"
            return False, f"{exc.code().name}: {exc.details()}{hint}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, status


def probe_from(args: argparse.Namespace, env: dict[str, str]) -> Probe:
    """The probe for the server the config and environment describe, options first."""
    from engine.config import load

    config_path = args.config or (Path(env["LOA_CONFIG"]) if env.get("LOA_CONFIG") else None)
    config = load(config_path, env)
    address = args.server or local_address(config.listen)
    cert = args.tls_cert or (Path(env["LOA_HEALTH_TLS_CERT"]) if env.get("LOA_HEALTH_TLS_CERT") else None)
    key = args.tls_key or (Path(env["LOA_HEALTH_TLS_KEY"]) if env.get("LOA_HEALTH_TLS_KEY") else None)
    tls = bool(config.tls_cert) or args.tls_ca is not None
    if tls and config.tls_client_ca and cert is None:
        raise ValueError(
            "the server wants client certificates (tls_client_ca): give --tls-cert and --tls-key "
            "(or LOA_HEALTH_TLS_CERT, LOA_HEALTH_TLS_KEY)"
        )
    return Probe(address, tls, args.tls_ca, cert, key, Path(config.tls_cert) if config.tls_cert else None)


def _health(args: argparse.Namespace) -> int:
    try:
        probe = probe_from(args, dict(os.environ))
        serving, what = check(probe, args.timeout, args.wait)
    except (ValueError, OSError) as exc:
        print(f"loa health: {exc}", file=sys.stderr)
        return 2
    mode = "TLS" if probe.tls else "plaintext"
    print(f"loa health: {probe.address} ({mode}): {what}", file=sys.stdout if serving else sys.stderr)
    return 0 if serving else 1


def register(sub: argparse._SubParsersAction) -> None:
    health = sub.add_parser(
        "health",
        help="exit 0 when the server answers SERVING (container health check)",
        description="Check the local server with grpc.health.v1, with TLS when its config has TLS.",
    )
    health.add_argument("--config", type=Path, help="the server's TOML config (default: LOA_CONFIG)")
    health.add_argument("--server", help="address to check (default: the config's listen, on loopback)")
    health.add_argument("--tls-ca", type=Path, help="CA to trust (default: the server's own tls_cert)")
    health.add_argument("--tls-cert", type=Path, help="client certificate, when the server wants one")
    health.add_argument("--tls-key", type=Path, help="client key, when the server wants one")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    health.add_argument(
        "--wait", action="store_true", help="wait (up to --timeout) for a server that is still starting"
    )
    health.set_defaults(func=_health)


if __name__ == "__main__":
    parsed = argparse.Namespace(
        config=None,
        server=sys.argv[1] if len(sys.argv) > 1 else None,
        tls_ca=None,
        tls_cert=None,
        tls_key=None,
        timeout=3.0,
        wait=False,
    )
    sys.exit(_health(parsed))
