"""A cluster's provisioning bundle: where the broker is, whom to trust, who the cluster is, its groups and
(optionally) their SRTP keys. One JSON file, at most 1 MiB (``loa speaker --provision FILE``)::

    {"url": "mqtts://broker.example:8883", "ca": null, "ca_pem": "-----BEGIN CERTIFICATE-----...",
     "cluster": "c-a", "password": "...", "prefix": "",
     "groups": {"ga": "239.6.0.1:5004:normal:1500"},
     "keys": {"version": 1, "groups": [{"group": "ga", "keys": [{"mki": 2, "key": "...", ...}]}]}}

- ``groups``: group id (its media topic) -> the group as the speaker joins it, ``ADDR:PORT`` or full
  ``ADDR:PORT:PRIORITY:DELAY_MS`` (sdp.GroupSpec). ``ADDR:PORT`` is the name the speaker's ingress, keys
  and playout know the group by, so a datagram is the same packet whichever path brought it; with the
  full form the bundle alone configures the speaker (no ``--group``).
- ``ca_pem``: the CA inline (preferred over ``ca``, a path on the speaker): a bundle is then one file to
  copy. paho takes a CA file, so :meth:`BrokerProvision.settings` writes it 0600 next to the bundle.
- ``cert_pem``, ``key_pem``: the cluster's client certificate and key, where the broker also asks for one
  (``broker_client_certs``); both or neither, and the key must be the certificate's. Written 0600 next
  to the bundle like the CA.
- ``keys``: the group keys in the key-file format (streaming/provisioning.py), only for the bundle's
  groups; the speaker uses them when it has no ``--keys`` (keyring.py reads them out of the bundle
  through :func:`bundle_keys`, so a changed bundle or SIGHUP re-reads them).

Anything malformed is a ValueError that names the field: a speaker never starts half-provisioned.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streaming.broker.client import Settings
from streaming.broker.topics import Topics, check_id
from streaming.provisioning import parse_provisioning, provisioning_addresses
from streaming.sdp import GroupSpec

SCHEME = "mqtts"  # TLS only: a cluster's password must never cross a carrier's network in the clear
MAX_BUNDLE = 1 << 20  # bytes: a bundle is a few KiB; anything near this is not one
FIELDS = frozenset(
    {"url", "ca", "ca_pem", "cluster", "password", "prefix", "groups", "keys", "cert_pem", "key_pem"}
)
REQUIRED = frozenset({"url", "cluster", "password", "groups"})
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


def _fail(name: str, message: str) -> ValueError:
    return ValueError(f"broker provisioning: {name}: {message}")


def _spec(group_id: str, text: str) -> GroupSpec:
    try:
        return GroupSpec.parse(text)
    except ValueError as exc:
        raise _fail(f"groups.{group_id}", f"{text!r}: ADDR:PORT[:PRIORITY[:DELAY_MS]] ({exc})") from None


def _check_pem(pem: str) -> None:
    if _PEM_BEGIN not in pem:
        raise _fail("ca_pem", "no PEM certificate")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise _fail("ca_pem", f"not a valid PEM certificate ({exc})") from None


def _check_client_pair(cert_pem: str, key_pem: str) -> None:
    from cryptography import x509  # only bundles with a client certificate need it parsed
    from cryptography.hazmat.primitives import serialization

    if bool(cert_pem) != bool(key_pem):
        raise _fail("cert_pem" if not cert_pem else "key_pem", "missing (a client certificate needs both)")
    if not cert_pem:
        return
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError as exc:
        raise _fail("cert_pem", f"not a PEM certificate ({exc})") from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), None)
    except (ValueError, TypeError) as exc:
        raise _fail("key_pem", f"not an unencrypted PEM private key ({exc})") from None
    raw = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
        raise _fail("key_pem", "not the key of cert_pem")


@dataclass(frozen=True)
class BrokerProvision:
    host: str
    port: int
    cluster: str
    password: str
    ca: Path | None  # None: ca_pem, else the system's trust store
    groups: dict[str, str] = field(default_factory=dict)  # group id -> "ADDR:PORT[:PRIORITY[:DELAY_MS]]"
    prefix: str = ""
    ca_pem: str = ""  # the CA inline; preferred over ``ca``
    keys: dict[str, Any] | None = None  # key-file object (provisioning.py) for the bundle's groups
    cert_pem: str = field(default="", repr=False)  # the cluster's client certificate, if the broker asks
    key_pem: str = field(default="", repr=False)
    origin: Path | None = field(default=None, compare=False, repr=False)  # the file it was loaded from

    def __post_init__(self) -> None:
        if not self.host or not 0 < self.port < 65536:
            raise _fail("url", f"{self.host!r}:{self.port}: bad host or port")
        try:
            check_id(self.cluster, "cluster")
            Topics(self.prefix)
        except ValueError as exc:
            raise _fail("cluster" if "cluster" in str(exc) else "prefix", str(exc)) from None
        if not self.password:
            raise _fail("password", "empty")
        if not self.groups:
            raise _fail("groups", "none")
        addresses: dict[str, str] = {}
        for group_id, text in self.groups.items():
            try:
                check_id(group_id, "group")
            except ValueError as exc:
                raise _fail("groups", str(exc)) from None
            spec = _spec(group_id, text)
            address = f"{spec.address}:{spec.port}"
            if address in addresses.values():
                raise _fail(f"groups.{group_id}", f"{address} is already another group's address")
            addresses[group_id] = address
        if self.ca_pem:
            _check_pem(self.ca_pem)
        _check_client_pair(self.cert_pem, self.key_pem)
        if self.keys is not None:
            self._check_keys(addresses)

    def _check_keys(self, addresses: dict[str, str]) -> None:
        if not isinstance(self.keys, dict):
            raise _fail("keys", "a key-file object")
        text = json.dumps(self.keys)
        try:
            rings = parse_provisioning(text)
            given = provisioning_addresses(text)
        except ValueError as exc:
            raise _fail("keys", str(exc)) from None
        strangers = sorted(set(rings) - set(addresses))
        if strangers:
            raise _fail("keys", f"keys for groups {strangers} that are not among the bundle's groups")
        for group_id, address in given.items():
            if address != addresses[group_id]:
                raise _fail("keys", f"group {group_id}: address {address}, not {addresses[group_id]}")

    @property
    def url(self) -> str:
        return f"{SCHEME}://{self.host}:{self.port}"

    def specs(self) -> list[GroupSpec]:
        """The bundle's groups as the speaker joins them (ADDR:PORT alone: normal priority, default delay)."""
        return [_spec(g, text) for g, text in self.groups.items()]

    def addresses(self) -> dict[str, str]:
        """Group id -> ``ADDR:PORT``, the name the speaker knows each group by."""
        return {g: f"{s.address}:{s.port}" for g, s in zip(self.groups, self.specs(), strict=True)}

    def key_document(self) -> str:
        """The bundle's keys as a key file (provisioning.py), each group with its address. ValueError if
        the bundle has none."""
        if self.keys is None:
            raise _fail("keys", "the bundle carries no keys")
        addresses = self.addresses()
        doc = json.loads(json.dumps(self.keys))
        for entry in doc["groups"]:
            entry["address"] = addresses[entry["group"]]
        return json.dumps(doc)

    def settings(self) -> Settings:
        cert = key = None
        if self.cert_pem:
            cert, key = self._written("cert", self.cert_pem), self._written("key", self.key_pem)
        return Settings(self.host, self.port, self.cluster, self.password, self.ca_file(), cert, key)

    def ca_file(self) -> Path | None:
        """The CA file the TLS client loads: ``ca_pem`` written out (0600), else ``ca``, else None."""
        return self._written("ca", self.ca_pem) if self.ca_pem else self.ca

    def _written(self, kind: str, pem: str) -> Path:
        """``pem`` in a 0600 file (paho takes files): next to the bundle, named by its digest and kept
        while unchanged; else an unpredictable temporary file."""
        digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
        if self.origin is not None:
            path = self.origin.with_name(f"{self.origin.name}.{kind}-{digest}.pem")
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink() and path.read_text() == pem:
                    return path
                _write_private(path, pem)
                return path
        fd, name = tempfile.mkstemp(prefix=f"loa-{self.cluster}-{kind}-", suffix=".pem")  # 0600
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        return Path(name)

    def topics(self) -> Topics:
        return Topics(self.prefix)

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> BrokerProvision:
        parts = urlsplit(url)
        if parts.scheme != SCHEME or not parts.hostname:
            raise _fail("url", f"{url!r} must be {SCHEME}://HOST:PORT")
        try:
            port = parts.port or 8883
        except ValueError:
            raise _fail("url", f"{url!r}: bad port") from None
        return cls(parts.hostname, port, **kw)

    @classmethod
    def load(cls, path: str | Path) -> BrokerProvision:
        """Reads a bundle file (at most 1 MiB); ValueError naming the file and the field."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_BUNDLE:
                raise _fail("file", f"{path} is {size} bytes (at most {MAX_BUNDLE})")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail("file", f"{path}: {exc}") from None
        return cls.parse(text, origin=path)

    @classmethod
    def parse(cls, text: str, origin: Path | None = None) -> BrokerProvision:
        if len(text.encode("utf-8", "replace")) > MAX_BUNDLE:
            raise _fail("file", f"more than {MAX_BUNDLE} bytes")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"broker provisioning: not JSON ({e})") from None
        if not isinstance(raw, dict):
            raise ValueError("broker provisioning: not a JSON object")
        if unknown := sorted(set(raw) - FIELDS):
            raise _fail(unknown[0], f"unknown field (fields: {', '.join(sorted(FIELDS))})")
        if missing := sorted(REQUIRED - set(raw)):
            raise _fail(missing[0], "missing")
        for name in ("url", "cluster", "password", "prefix", "ca_pem", "cert_pem", "key_pem"):
            if name in raw and not isinstance(raw[name], str):
                raise _fail(name, "must be a string")
        ca, groups, keys = raw.get("ca"), raw["groups"], raw.get("keys")
        if not (ca is None or isinstance(ca, str)):
            raise _fail("ca", "must be a path or null")
        if not isinstance(groups, dict) or not all(isinstance(v, str) for v in groups.values()):
            raise _fail("groups", "must map group ids to ADDR:PORT[:PRIORITY[:DELAY_MS]] strings")
        if not (keys is None or isinstance(keys, dict)):
            raise _fail("keys", "must be a key-file object or null")
        return cls.from_url(
            raw["url"],
            cluster=raw["cluster"],
            password=raw["password"],
            ca=Path(ca) if ca else None,
            groups=dict(groups),
            prefix=raw.get("prefix", ""),
            ca_pem=raw.get("ca_pem", ""),
            keys=keys,
            cert_pem=raw.get("cert_pem", ""),
            key_pem=raw.get("key_pem", ""),
            origin=origin,
        )

    def serialize(self) -> str:
        out: dict[str, Any] = {
            "url": self.url,
            "ca": str(self.ca) if self.ca else None,
            "cluster": self.cluster,
            "password": self.password,
            "prefix": self.prefix,
            "groups": self.groups,
        }
        if self.ca_pem:
            out["ca_pem"] = self.ca_pem
        if self.keys is not None:
            out["keys"] = self.keys
        if self.cert_pem:
            out["cert_pem"], out["key_pem"] = self.cert_pem, self.key_pem
        return json.dumps(out, indent=1)


def bundle_keys(text: str) -> str:
    """A bundle file's text -> its keys as a key file (keyring.py's reader for ``--provision`` keys)."""
    return BrokerProvision.parse(text).key_document()


def _write_private(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` with mode 0600, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
