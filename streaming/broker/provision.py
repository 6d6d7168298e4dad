"""A 4G speaker's broker provisioning: where the broker is, whom to trust, who the cluster is, and which
group ids map to which of the speaker's groups. One JSON file (``loa speaker --provision FILE``)::

    {"url": "mqtts://broker.example:8883", "ca": "/etc/loa/ca.pem", "cluster": "c-a",
     "password": "...", "prefix": "", "groups": {"ga": "239.6.0.1:5004"}}

A group's id names its media topic; its ``ADDR:PORT`` is the name the speaker's ingress, keys file and
playout know the group by, so a datagram is the same packet whichever path brought it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streaming.broker.client import Settings
from streaming.broker.topics import Topics, check_id

SCHEME = "mqtts"  # TLS only: a cluster's password must never cross a carrier's network in the clear


@dataclass(frozen=True)
class BrokerProvision:
    host: str
    port: int
    cluster: str
    password: str
    ca: Path | None  # None: the system's trust store
    groups: dict[str, str] = field(default_factory=dict)  # group id -> "ADDR:PORT"
    prefix: str = ""

    def __post_init__(self) -> None:
        if not self.host or not 0 < self.port < 65536:
            raise ValueError(f"broker {self.host!r}:{self.port}: bad host or port")
        check_id(self.cluster, "cluster")
        if not self.password:
            raise ValueError("broker provisioning: empty password")
        if not self.groups:
            raise ValueError("broker provisioning: no groups")
        for group_id, address in self.groups.items():
            check_id(group_id, "group")
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"group {group_id}: {address!r} is not ADDR:PORT")
        Topics(self.prefix)  # ValueError for a bad prefix

    @property
    def url(self) -> str:
        return f"{SCHEME}://{self.host}:{self.port}"

    def settings(self) -> Settings:
        return Settings(self.host, self.port, self.cluster, self.password, self.ca)

    def topics(self) -> Topics:
        return Topics(self.prefix)

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> BrokerProvision:
        parts = urlsplit(url)
        if parts.scheme != SCHEME or not parts.hostname:
            raise ValueError(f"broker url {url!r}: must be {SCHEME}://HOST:PORT")
        try:
            port = parts.port or 8883
        except ValueError:
            raise ValueError(f"broker url {url!r}: bad port") from None
        return cls(parts.hostname, port, **kw)

    @classmethod
    def parse(cls, text: str) -> BrokerProvision:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"broker provisioning: not JSON ({e})") from None
        if not isinstance(raw, dict):
            raise ValueError("broker provisioning: not a JSON object")
        unknown = set(raw) - {"url", "ca", "cluster", "password", "prefix", "groups"}
        if unknown:
            raise ValueError(f"broker provisioning: unknown fields {sorted(unknown)}")
        strings = ("url", "cluster", "password")
        if any(not isinstance(raw.get(k), str) for k in strings):
            raise ValueError(f"broker provisioning: {', '.join(strings)} must be strings")
        groups = raw.get("groups")
        if not isinstance(groups, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in groups.items()
        ):
            raise ValueError("broker provisioning: groups must map group ids to ADDR:PORT strings")
        ca, prefix = raw.get("ca"), raw.get("prefix", "")
        if not (ca is None or isinstance(ca, str)) or not isinstance(prefix, str):
            raise ValueError("broker provisioning: ca and prefix must be strings")
        return cls.from_url(
            raw["url"],
            cluster=raw["cluster"],
            password=raw["password"],
            ca=Path(ca) if ca else None,
            groups=dict(groups),
            prefix=prefix,
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
        return json.dumps(out, indent=1)
